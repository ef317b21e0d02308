"""Article pages: fetch through the guarded client and extract the story with trafilatura."""

from __future__ import annotations

import os
from concurrent.futures import TimeoutError as FuturesTimeout
from dataclasses import dataclass
from pathlib import Path

import trafilatura
from pebble import ProcessPool

from ingest.http import FetchError, HttpClient
from ingest.language import detect_language
from ingest.records import Extraction
from ingest.text import clean_string, strip_leading_title

MIN_TEXT_CHARS = 80
PARALLEL_MIN_PAGES = 8


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


@dataclass
class Download:
    """A fetched page waiting for extraction, or the reason there is nothing to extract."""

    url: str
    body: bytes = b""
    final_url: str = ""
    http_status: int | None = None
    reason: str = ""


def download_page(client: HttpClient, url: str) -> Download:
    """Fetch one article page; failures come back as ``reason``, never raised."""
    try:
        response = client.get(url, headers={"Accept": "text/html,application/xhtml+xml;q=0.9,*/*;q=0.5"})
    except FetchError as exc:
        return Download(url, reason=f"{exc.kind}: {exc}", http_status=exc.status)
    content_type = response.headers.get("content-type", "")
    if content_type and not any(t in content_type for t in ("html", "xml", "text/plain")):
        return Download(url, reason=f"not an HTML page ({content_type})", http_status=response.status)
    return Download(url, response.body, response.url, response.status)


def _extract_download(download: Download) -> Extraction:
    if download.reason:
        return Extraction(source=download.url, reason=download.reason, http_status=download.http_status)
    result = extract_html(download.body, source=download.url, url=download.final_url)
    result.http_status, result.final_url = download.http_status, download.final_url
    return result


def extract_downloads(downloads: list[Download], timeout: float = 20.0, workers: int | None = None) -> list[Extraction]:
    """Extract many pages on every core, each under a hard time limit.

    trafilatura has no timeout of its own and pathological HTML can keep it busy for minutes;
    pebble runs each page in a worker process and kills the worker when its time is up, so one
    page never stalls the night. Small batches are extracted in-process (not worth the processes).
    """
    workers = workers or os.cpu_count() or 1
    todo = [d for d in downloads if not d.reason]
    if len(todo) < PARALLEL_MIN_PAGES or workers <= 1:
        return [_extract_download(d) for d in downloads]
    results: dict[str, Extraction] = {}
    with ProcessPool(max_workers=workers) as pool:
        futures = [(d, pool.schedule(_extract_download, args=(d,), timeout=timeout)) for d in todo]
        for download, future in futures:
            try:
                results[download.url] = future.result()
            except FuturesTimeout:
                results[download.url] = Extraction(
                    source=download.url, reason=f"extraction timed out after {timeout:g}s",
                    http_status=download.http_status)
            except Exception as exc:  # a crashed worker (memory, segfault) is one page's failure
                results[download.url] = Extraction(
                    source=download.url, reason=f"extraction failed: {type(exc).__name__}: {exc}",
                    http_status=download.http_status)
    return [results[d.url] if d.url in results else _extract_download(d) for d in downloads]


def fetch_article(client: HttpClient, url: str) -> Extraction:
    """Fetch and extract one article page; failures come back as ``reason``, never raised."""
    return _extract_download(download_page(client, url))


def extract_source(client: HttpClient, source: str) -> Extraction:
    """Extract a local file or a URL (what ``axiswatch extract`` takes)."""
    if source.startswith(("http://", "https://")):
        return fetch_article(client, source)
    path = Path(source)
    try:
        return extract_html(path.read_bytes(), source=source)
    except OSError as exc:
        return Extraction(source=source, reason=f"cannot read file: {exc.strerror or exc}")
