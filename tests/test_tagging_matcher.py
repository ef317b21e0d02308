"""The term matcher finds exactly what a plain scan of every term at every word finds, on every
labelled item, whether a word is looked up for the first time or remembered (the cache is what
makes tagging fast; it must not change a single hit)."""

import json
from collections import Counter

import pytest

import transform.terms as terms
from transform.tagging import _zones, load_topics
from transform.terms import TermMatcher, is_hangul, tokenize

SETS = ("axis_heldout_ml.jsonl", "axis_heldout2_ml.jsonl", "axis_heldout3_ml.jsonl", "axis_heldout4_ml.jsonl",
        "axis_heldout5_ml.jsonl")  # all five languages


def reference(all_terms, tokens):
    """Every term tried at every word, by the rules terms.py's docstring states: a Korean word of
    two or more syllables, or one Hanja, anywhere in a Korean word; any other term at the word's
    start (a stem as a prefix, a whole word exactly), its further words after it."""
    found = Counter()
    for i, token in enumerate(tokens):
        korean = (token[-1] >= "\u1100" or token[0] >= "\u1100") and is_hangul(token)
        for term in all_terms:
            first = term.words[0] if term.words else ""
            if not first:
                continue
            if len(term.words) == 1 and is_hangul(first) and (len(first) >= 2 or "\u4e00" <= first <= "\u9fff"):
                if korean and first in token:
                    found[(term.text, term.concept, i, i, first)] += 1
            elif term.matches_at(tokens, i):
                last = i + len(term.words) - 1
                surface = " ".join(term.words) if is_hangul(token) else " ".join(tokens[i : last + 1])
                found[(term.text, term.concept, i, last, surface)] += 1
    return found


def sentences(repo_root):
    for name in SETS:
        for line in (repo_root / "evaluation" / name).read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            for zone in _zones(item.get("title") or "", item.get("summary") or "", item.get("text") or "").values():
                yield from zone


@pytest.fixture
def topics(repo_root):
    return load_topics(repo_root / "config/topics.yaml")


def test_every_hit_is_the_plain_scan_s_first_time_and_remembered(topics, repo_root, monkeypatch):
    monkeypatch.setattr(terms, "CACHE_SIZE", 50)  # forgotten and looked up again many times over
    matcher = TermMatcher(topics.matcher.terms)
    checked = 0
    for sentence in sentences(repo_root):
        tokens = tokenize(sentence)
        expected = reference(matcher.terms, tokens)
        for _ in range(2):  # first lookups, then remembered words
            got = Counter((h.term.text, h.term.concept, h.first, h.last, h.text) for h in matcher.find(tokens))
            assert got == expected, sentence
        checked += bool(expected)
    assert checked > 300  # most labelled sentences have hits
    assert len(matcher._cache) <= 50


def test_hanja_of_one_word_come_in_the_order_they_occur(topics):
    """Hits are reported in a fixed order (a set's order changed with the process's hash seed)."""
    matcher = TermMatcher(topics.matcher.terms)
    assert [h.text for h in matcher.find(tokenize("韓露"))] == ["韓", "露"]
    assert [h.text for h in matcher.find(tokenize("露韓"))] == ["露", "韓"]
