"""Finding many terms in text fast: dictionary lookups over word tokens, not regex alternations.

A term is a sequence of words; a word ending in ``*`` is a stem (matches any word starting so).
Korean words always match as prefixes (particles attach: 북한은, 북한군), and a Korean term of two
or more syllables also matches inside a compound (서해위성발사장 contains 위성). A one-character
Hanja abbreviation (北, 露, 韓) matches anywhere in a word: headlines write 對北, 韓美, 北露.
A one-syllable Hangul word (북 for North Korea, 한·우 for Korea–Ukraine) is an abbreviation, not a
stem: it matches only as a whole word, followed at most by a particle (북은, 한·우의), since as a
prefix it starts unrelated words (북미, "한 우크라이나 관리" = "a Ukrainian official"); write 러* to
make one a stem.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

import ahocorasick

_TOKEN = re.compile(r"\w+")
CACHE_SIZE = 200_000  # distinct words remembered per matcher (a few tens of MB at most), then forgotten
_TERM_WORD = re.compile(r"\w+\*?")


_HANGUL = re.compile("[\uac00-\ud7a3\u4e00-\u9fff]")
_HANJA = re.compile("[\u4e00-\u9fff]")
# What may follow a one-syllable Korean abbreviation in the same word: the particles of news prose.
PARTICLES = frozenset(
    "은 는 이 가 을 를 의 에 와 과 도 만 로 으로 에서 에게 과의 와의 간 간의 엔 측 측은 측이 측의 이다 이었다".split()
)


def is_hangul(word: str) -> bool:
    """True when the word has Hangul syllables (or Hanja such as 北)."""
    return _HANGUL.search(word) is not None


@dataclass(frozen=True)
class Term:
    text: str
    concept: str
    words: tuple[str, ...]
    stems: tuple[bool, ...]
    # Per word: a one-syllable Korean abbreviation, a whole word that a particle may follow
    # (only the last word of a phrase takes one).
    syllables: tuple[bool, ...] = ()

    @classmethod
    def parse(cls, text: str, concept: str) -> Term:
        raw = _TERM_WORD.findall(text.casefold())
        words = tuple(w.rstrip("*") for w in raw)
        syllables = tuple(not w.endswith("*") and len(w) == 1 and is_hangul(w) and not _HANJA.match(w) for w in raw)
        stems = tuple(w.endswith("*") or (is_hangul(w) and not one) for w, one in zip(raw, syllables))
        return cls(text, concept, words, stems, syllables)

    def matches_at(self, tokens: list[str], i: int) -> bool:
        if i + len(self.words) > len(tokens):
            return False
        last = len(self.words) - 1
        for offset, (word, stem) in enumerate(zip(self.words, self.stems)):
            token = tokens[i + offset]
            if stem:
                if not token.startswith(word):
                    return False
            elif token != word and not (
                offset == last and self.syllables[offset] and token.startswith(word) and token[len(word):] in PARTICLES
            ):
                return False
        return True


@dataclass(frozen=True)
class Hit:
    term: Term
    first: int  # token indexes, inclusive
    last: int
    text: str  # the words as they appear


def tokenize(text: str) -> list[str]:
    return _TOKEN.findall(text.casefold())


class TermMatcher:
    """All terms of all concepts, indexed by their first word.

    A token is looked up, not scanned for: exact words by the token itself, stems by the token's
    prefixes of each length some stem has, the Korean terms inside a compound by one pass of an
    Aho-Corasick automaton over it. So the cost per token grows with the number of distinct stem lengths,
    not with the number of terms, and widening the vocabulary does not slow tagging down. What a
    word starts is remembered per distinct word, so a word seen before costs one lookup."""

    def __init__(self, terms: Iterable[Term]) -> None:
        self._exact: dict[str, list[Term]] = defaultdict(list)
        self._prefix: dict[str, list[Term]] = defaultdict(list)  # keyed by the whole stem
        self._infix: dict[str, list[Term]] = defaultdict(list)  # Korean words found inside compounds
        self._hanja: dict[str, list[Term]] = defaultdict(list)
        self.terms: list[Term] = list(terms)
        for term in self.terms:
            if not term.words:
                continue
            first, stem = term.words[0], term.stems[0]
            if len(term.words) == 1 and is_hangul(first) and len(first) >= 2:
                self._infix[first].append(term)
            elif len(term.words) == 1 and len(first) == 1 and _HANJA.match(first):
                self._hanja[first].append(term)
            elif stem:
                self._prefix[first].append(term)
            elif len(term.words) == 1 and term.syllables[0]:
                for key in {first} | {first + particle for particle in PARTICLES}:
                    self._exact[key].append(term)
            else:
                self._exact[first].append(term)
        # For each first two characters, the lengths of the stems that start so (most tokens
        # start like no stem at all and cost one lookup); one-character stems (러) apart.
        lengths: dict[str, set[int]] = defaultdict(set)
        for word in self._prefix:
            if len(word) > 1:  # a one-character stem is found by the token's first character
                lengths[word[:2]].add(len(word))
        self._prefix_lengths = {key: sorted(values) for key, values in lengths.items()}
        self._infix_words = automaton(self._infix)
        self._hanja_chars = re.compile(f"[{''.join(map(re.escape, self._hanja))}]") if self._hanja else None
        self._cache: dict[str, tuple[tuple[Term, str | None], ...]] = {}

    def find(self, tokens: list[str]) -> list[Hit]:
        cache = self._cache
        looked = list(map(cache.get, tokens))
        if None in looked:
            lookup = self._lookup
            for i in [i for i, found in enumerate(looked) if found is None]:
                token = tokens[i]
                looked[i] = cache[token] = lookup(token)
            if len(cache) >= CACHE_SIZE:
                cache.clear()
        hits: list[Hit] = []
        # Most words start no term at all: only the others are visited.
        for i in [i for i, found in enumerate(looked) if found]:
            for term, surface in looked[i]:
                if surface is not None:
                    hits.append(Hit(term, i, i, surface))
                elif term.matches_at(tokens, i):
                    last = i + len(term.words) - 1
                    token = tokens[i]
                    words = " ".join(term.words) if is_hangul(token) else " ".join(tokens[i : last + 1])
                    hits.append(Hit(term, i, last, words))
        return hits

    def _lookup(self, token: str) -> tuple[tuple[Term, str | None], ...]:
        """What a token can start, in the order ``find`` reports it: (term, surface) for a
        one-word term the token matches by itself, (term, None) for a longer term whose first
        word it matches (the words after it decide). It depends on the token alone, so
        ``find`` looks it up once per distinct word: news repeats its words, and most of them
        start no term at all."""
        prefix = self._prefix.get
        whole, one, lengths = self._exact.get(token), prefix(token[:1]), self._prefix_lengths.get(token[:2])
        korean = token[-1] >= "\u1100" or token[0] >= "\u1100"
        if whole is None and one is None and lengths is None and not korean:
            return ()  # most words: no term starts like this one
        found: list[tuple[Term, str | None]] = []
        size = len(token)
        if whole is not None or one is not None or lengths is not None:
            buckets = [whole, one]
            for length in lengths or ():
                if length > size:
                    break
                buckets.append(prefix(token[:length]))
            hangul = is_hangul(token)
            for bucket in buckets:
                for term in bucket or ():
                    if len(term.words) == 1:
                        found.append((term, term.words[0] if hangul else token))
                    else:
                        found.append((term, None))
        infix, hanja = self._infix, self._hanja
        if korean and (infix or hanja) and _HANGUL.search(token):
            # Every Korean term inside the token in one pass of an automaton (a slice and a
            # lookup per substring length and start cost several times more a word), reported
            # once each, shortest first, then leftmost.
            inside = [(len(word), end - len(word), word) for end, word in self._infix_words.iter(token)] \
                if self._infix_words is not None else []
            if inside:
                inside.sort()
                seen: set[str] = set()
                for _, _, word in inside:
                    if word not in seen:  # report the term, not the word with its particles
                        seen.add(word)
                        found.extend((term, word) for term in infix[word])
            if self._hanja_chars is not None:
                for char in dict.fromkeys(self._hanja_chars.findall(token)):  # in the order they occur
                    found.extend((term, char) for term in hanja[char])
        return tuple(found)


def automaton(words: Iterable[str]) -> ahocorasick.Automaton | None:
    """An Aho-Corasick automaton that reports each of ``words`` where it occurs, as itself (one
    pass over a text finds them all); None when there is no word."""
    words = {w for w in words if w}
    if not words:
        return None
    found = ahocorasick.Automaton()
    for word in words:
        found.add_word(word, word)
    found.make_automaton()
    return found
