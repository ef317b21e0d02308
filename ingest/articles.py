"""Article pages: fetch through the guarded client and extract the story with trafilatura."""

from __future__ import annotations

from pathlib import Path

import trafilatura

from ingest.http import FetchError, HttpClient
from ingest.language import detect_language
from ingest.records import Extraction
from ingest.text import clean_string, strip_leading_title

MIN_TEXT_CHARS = 80


def extract_html(html: bytes | str, source: str, url: str | None = None) -> Extraction:
    """Extract title, text, language, date and site name from one page's HTML."""
    result = Extraction(source=source)
    if not html:
        result.reason = "empty page"
        return result
    try:
        doc = trafilatura.bare_extraction(
            html, url=url, with_metadata=True, include_comments=False, include_tables=False
        )
    except Exception as exc:  # trafilatura raises a wide range of parser errors
        result.reason = f"extraction failed: {type(exc).__name__}: {exc}"
        return result
    if doc is None:
        result.reason = "no main text found"
        return result
    data = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    result.title = clean_string(data.get("title") or "")
    result.text = strip_leading_title(clean_string(data.get("text") or ""), result.title)
    result.date = clean_string(data.get("date") or "")
    result.author = clean_string(data.get("author") or "")
    result.sitename = clean_string(data.get("sitename") or "")
    result.language = detect_language(f"{result.title}\n{result.text}", data.get("language") or "")
    if len(result.text) < MIN_TEXT_CHARS:
        result.reason = f"extracted text too short ({len(result.text)} chars)"
    return result


def fetch_article(client: HttpClient, url: str) -> Extraction:
    """Fetch and extract one article page; failures come back as ``reason``, never raised."""
    try:
        response = client.get(url, headers={"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"})
    except FetchError as exc:
        return Extraction(source=url, reason=f"{exc.kind}: {exc}", http_status=exc.status)
    content_type = response.headers.get("content-type", "")
    if content_type and not any(t in content_type for t in ("html", "xml", "text/plain")):
        return Extraction(
            source=url, reason=f"not an HTML page ({content_type})", http_status=response.status
        )
    result = extract_html(response.body, source=url, url=response.url)
    result.http_status, result.final_url = response.status, response.url
    return result


def extract_source(client: HttpClient, source: str) -> Extraction:
    """Extract a local file or a URL (what ``axiswatch extract`` takes)."""
    if source.startswith(("http://", "https://")):
        return fetch_article(client, source)
    path = Path(source)
    try:
        return extract_html(path.read_bytes(), source=source)
    except OSError as exc:
        return Extraction(source=source, reason=f"cannot read file: {exc.strerror or exc}")
