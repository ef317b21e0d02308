"""Finding many terms in text fast: dictionary lookups over word tokens, not regex alternations.

A term is a sequence of words; a word ending in ``*`` is a stem (matches any word starting so).
Korean words always match as prefixes (particles attach: 북한은, 북한군), and a Korean term of two
or more syllables also matches inside a compound (서해위성발사장 contains 위성).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

_TOKEN = re.compile(r"\w+")
_TERM_WORD = re.compile(r"\w+\*?")


_HANGUL = re.compile("[\uac00-\ud7a3\u4e00-\u9fff]")


def is_hangul(word: str) -> bool:
    """True when the word has Hangul syllables (or Hanja such as 北)."""
    return _HANGUL.search(word) is not None


@dataclass(frozen=True)
class Term:
    text: str
    concept: str
    words: tuple[str, ...]
    stems: tuple[bool, ...]

    @classmethod
    def parse(cls, text: str, concept: str) -> Term:
        raw = _TERM_WORD.findall(text.casefold())
        words = tuple(w.rstrip("*") for w in raw)
        stems = tuple(w.endswith("*") or is_hangul(w) for w in raw)
        return cls(text, concept, words, stems)

    def matches_at(self, tokens: list[str], i: int) -> bool:
        if i + len(self.words) > len(tokens):
            return False
        for offset, (word, stem) in enumerate(zip(self.words, self.stems)):
            token = tokens[i + offset]
            if not (token.startswith(word) if stem else token == word):
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
    """All terms of all concepts, indexed by their first word."""

    def __init__(self, terms: Iterable[Term]) -> None:
        self._exact: dict[str, list[Term]] = defaultdict(list)
        self._prefix: dict[str, list[Term]] = defaultdict(list)  # keyed by the stem's first 2 chars
        self._short_prefix: dict[str, list[Term]] = defaultdict(list)  # one-character stems (北, 러)
        self._infix: list[Term] = []
        for term in terms:
            if not term.words:
                continue
            first, stem = term.words[0], term.stems[0]
            if len(term.words) == 1 and is_hangul(first) and len(first) >= 2:
                self._infix.append(term)
            elif stem and len(first) < 2:
                self._short_prefix[first].append(term)
            elif stem:
                self._prefix[first[:2]].append(term)
            else:
                self._exact[first].append(term)

    def find(self, tokens: list[str]) -> list[Hit]:
        hits: list[Hit] = []
        exact, prefix, short = self._exact.get, self._prefix.get, self._short_prefix.get
        for i, token in enumerate(tokens):
            for bucket in (exact(token), prefix(token[:2]), short(token[:1])):
                if not bucket:
                    continue
                for term in bucket:
                    if term.matches_at(tokens, i):
                        last = i + len(term.words) - 1
                        surface = " ".join(term.words) if is_hangul(token) else " ".join(tokens[i : last + 1])
                        hits.append(Hit(term, i, last, surface))
            if self._infix and _HANGUL.search(token):
                for term in self._infix:
                    if term.words[0] in token:  # report the term, not the word with its particles
                        hits.append(Hit(term, i, i, term.words[0]))
        return hits
