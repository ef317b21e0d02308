"""Text helpers every stage needs: HTML to plain text, whitespace, safe strings for storage."""

from __future__ import annotations

import html
import re
import unicodedata

import lxml.html

_WS = re.compile(r"\s+")
_SURROGATES = re.compile("[\ud800-\udfff]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_TAG = re.compile(r"<[^>]*>")
_SCRIPT_OR_STYLE = re.compile(r"<(script|style)\b.*?(?:</\1\s*>|$)", re.IGNORECASE | re.DOTALL)


def clean_string(value: str | None) -> str:
    """Drop lone surrogates (DuckDB rejects them) and control characters; NFC-normalize."""
    if not value:
        return ""
    value = _SURROGATES.sub("", value)
    value = _CONTROL.sub("", value)
    return unicodedata.normalize("NFC", value)


def collapse_ws(value: str) -> str:
    return _WS.sub(" ", value).strip()


def html_to_text(fragment: str | None) -> str:
    """Plain text of an HTML fragment such as a feed summary, whitespace collapsed."""
    fragment = clean_string(fragment)
    if not fragment:
        return ""
    if "<" not in fragment and "&" not in fragment:
        return collapse_ws(fragment)
    try:
        root = lxml.html.fragment_fromstring(fragment, create_parent="div")
    except (ValueError, AssertionError, lxml.etree.ParserError):
        # lxml refuses some fragments (a whole document with no body: "too many bodies"): the
        # tags go by pattern, and what scripts and styles hold goes with them.
        return collapse_ws(html.unescape(_TAG.sub(" ", _SCRIPT_OR_STYLE.sub(" ", fragment))))
    for bad in root.xpath(".//script|.//style"):
        bad.drop_tree()
    return collapse_ws(root.text_content())


def strip_leading_title(text: str, *titles: str) -> str:
    """Drop a first line that only repeats the headline, so the body stands for the story alone."""
    wanted = {collapse_ws(t).casefold() for t in titles if t}
    if not text or not wanted:
        return text
    longest = max(len(t) for t in wanted)
    first, newline, _ = text[: longest * 2 + 20].partition("\n")  # never scan a whole article
    if newline and collapse_ws(first).casefold() in wanted:
        return text[len(first) + 1 :].lstrip("\n")
    return text


def safe_name(value: str, default: str = "run") -> str:
    """A file or folder name for an arbitrary id (Airflow run ids carry ':' and '+')."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", value).strip("._") or default
