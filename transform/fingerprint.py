"""Content fingerprints for exact dedup: the same story text under any URL or headline."""

from __future__ import annotations

import hashlib
import re
import unicodedata

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)
MIN_TEXT_FOR_HASH = 200


def normalize_for_hash(text: str) -> str:
    """Case-folded words only: punctuation, spacing and quote styles do not change the hash."""
    text = unicodedata.normalize("NFKC", text or "").casefold()
    return _NON_WORD.sub(" ", text).strip()


def content_hash(title: str, text: str, summary: str = "") -> str:
    """Hash of the article body, or of title and summary when no real body was fetched.

    A body of a few hundred characters identifies a story on its own, whatever the headline;
    without one, the headline must take part, or different stories that share a reused photo
    caption as their summary would collapse into one.
    """
    body = normalize_for_hash(text)
    if len(body) >= MIN_TEXT_FOR_HASH:
        basis = "text:" + body
    else:
        basis = "entry:" + normalize_for_hash(title) + "|" + normalize_for_hash(summary or text)
    return hashlib.sha256(basis.encode("utf-8")).hexdigest()


def article_id(canonical_url: str) -> str:
    """Stable article id derived from the canonical URL (the same on every run and machine)."""
    return hashlib.sha256(canonical_url.encode("utf-8")).hexdigest()[:16]
