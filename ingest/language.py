"""Language identification from the text itself, not from what a feed claims."""

from __future__ import annotations

import re

import py3langid

# Scripts settle most of our languages faster and more surely than a statistical model.
_HANGUL = re.compile("[\uac00-\ud7a3]")
_CYRILLIC = re.compile("[\u0400-\u04ff]")
_UKRAINIAN_ONLY = re.compile("[іїєґІЇЄҐ]")
_RUSSIAN_ONLY = re.compile("[ыэъЫЭЪё]")
_NOT_LETTERS = re.compile(r"[\W\d_]+")  # what is left of a text without them is its letters
# py3langid's cost grows with its input and it is sure of a language long before 600 characters;
# at 600 it was about 10% of extraction time in a profile of the benchmark pages, at 300 about 6%.
_MODEL_SAMPLE = 200


def load_model() -> None:
    """Load the statistical model now, not at the first page. It takes about 0.4 s per process:
    extraction workers forked after this inherit it instead of each loading a copy, which was
    about a sixth of a 1,000-page extraction on two cores (3.0-3.4 s against 2.5-2.7 s)."""
    py3langid.classify("")


def detect_language(text: str, hint: str = "") -> str:
    """Two-letter language code of ``text``; ``hint`` (the feed's claim) only breaks ties."""
    sample = (text or "")[:600]
    letters = len(_NOT_LETTERS.sub("", sample))  # no list of one-letter strings, as findall makes
    if letters < 8:
        return (hint or "")[:2].lower()
    hangul = len(_HANGUL.findall(sample))
    if hangul / letters > 0.3:
        return "ko"
    cyrillic = len(_CYRILLIC.findall(sample))
    if cyrillic / letters > 0.5:
        uk, ru = len(_UKRAINIAN_ONLY.findall(sample)), len(_RUSSIAN_ONLY.findall(sample))
        if uk > ru:
            return "uk"
        if ru > uk:
            return "ru"
    lang, _ = py3langid.classify(sample[:_MODEL_SAMPLE])
    return lang
