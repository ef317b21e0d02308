"""Article pages: fetch through the guarded client and extract the story with trafilatura."""

from __future__ import annotations

import math
import os
from collections import deque
from collections.abc import Callable, Sequence
from concurrent.futures import TimeoutError as FuturesTimeout
from copy import copy
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path

import trafilatura
from pebble import ProcessPool
from trafilatura.settings import Extractor

from ingest.http import FetchError, HttpClient
from ingest.language import detect_language, load_model
from ingest.records import Extraction
from ingest.settings import ExtractionSettings
from ingest.text import clean_string, strip_leading_title

# How trafilatura is asked for a page (the benchmarks time trafilatura alone with these too).
TRAFILATURA_OPTIONS = {"with_metadata": True, "include_comments": False, "include_tables": False}
PARALLEL_MIN_PAGES = 8


MIN_TEXT_CHARS = ExtractionSettings().min_text_chars  # the default; runs pass their settings'


@lru_cache(maxsize=2)
def _day_options(day: str) -> Extractor:
    """TRAFILATURA_OPTIONS as one trafilatura ``Extractor``, made once a day: made per call it
    reads trafilatura's settings file's values again for every page. It carries the day as the
    latest date a page may have, hence the key."""
    return Extractor(output_format="python", with_metadata=TRAFILATURA_OPTIONS["with_metadata"],
                     comments=TRAFILATURA_OPTIONS["include_comments"], tables=TRAFILATURA_OPTIONS["include_tables"])


def trafilatura_options(url: str | None) -> Extractor:
    """The options of one page's extraction: the day's shared ``Extractor`` with the page's URL
    (trafilatura copies an Extractor before changing it, so sharing one is safe)."""
    options = copy(_day_options(datetime.now().astimezone().strftime("%Y-%m-%d")))
    options.url = url
    options.source = url and url.encode("utf-8", "replace").decode("utf-8")
    return options


def extract_html(html: bytes | str, source: str, url: str | None = None, min_text_chars: int = MIN_TEXT_CHARS) -> Extraction:
    """Extract title, text, language, date and site name from one page's HTML."""
    result, declared = _extract_text(html, source, url, min_text_chars)
    _identify_language(result, declared)
    return result


def _extract_text(html: bytes | str, source: str, url: str | None, min_text_chars: int) -> tuple[Extraction, str | None]:
    """All ``extract_html`` gives but the language, and the language the page declares: None when
    there was no page or trafilatura failed or found no main text (no language to identify). A
    batch of pages identifies its languages after the last page is extracted, so the language
    model stays in the core's caches meanwhile."""
    result = Extraction(source=source)
    if not html:
        result.reason = "empty page"
        return result, None
    try:
        doc = trafilatura.bare_extraction(html, url=url, options=trafilatura_options(url))
    except Exception as exc:  # trafilatura raises a wide range of parser errors
        result.reason = f"extraction failed: {type(exc).__name__}: {exc}"
        return result, None
    if doc is None:
        result.reason = "no main text found"
        return result, None
    data = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    result.title = clean_string(data.get("title") or "")
    result.text = strip_leading_title(clean_string(data.get("text") or ""), result.title)
    result.date = clean_string(data.get("date") or "")
    result.author = clean_string(data.get("author") or "")
    result.sitename = clean_string(data.get("sitename") or "")
    if len(result.text) < min_text_chars:
        result.reason = f"extracted text too short ({len(result.text)} chars)"
    return result, data.get("language") or ""


def _identify_language(result: Extraction, declared: str | None) -> None:
    """Set the language of an extraction that has a text (``declared``: see ``_extract_text``)."""
    if declared is not None:
        result.language = detect_language(f"{result.title}\n{result.text}", declared)


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


def _extract_download(download: Download, min_text_chars: int = MIN_TEXT_CHARS) -> Extraction:
    result, declared = _download_text(download, min_text_chars)
    _identify_language(result, declared)
    return result


def _download_text(download: Download, min_text_chars: int) -> tuple[Extraction, str | None]:
    """``_extract_text`` of a download (see there)."""
    if download.reason:
        return Extraction(source=download.url, reason=download.reason, http_status=download.http_status), None
    result, declared = _extract_text(download.body, download.url, download.final_url, min_text_chars)
    result.http_status, result.final_url = download.http_status, download.final_url
    return result, declared


# What each PageExtractor derives from its pages in the worker processes, by extractor: set in
# the parent before the workers are forked, so they inherit the function and what it closes over
# (a tagger, the run's entries) instead of receiving a pickled copy with every batch.
Derive = Callable[[list[tuple[str, Extraction]]], Sequence[object]]
_DERIVERS: dict[int, Derive] = {}


def _extract_batch(downloads: list[Download], min_text_chars: int = MIN_TEXT_CHARS,
                   deriver: int | None = None) -> list[tuple[Extraction, object]]:
    """A batch's pages, all extracted first, then their languages identified, then derived
    together: trafilatura, the language model and the deriver (tagger, event rules, hash
    permutations) each keep their data in the core's caches for the whole batch instead of
    evicting each other at every page (less CPU a page than alternating, on the benchmark's pages)."""
    texts = [_download_text(d, min_text_chars) for d in downloads]
    for result, declared in texts:
        _identify_language(result, declared)
    results = [result for result, _ in texts]
    return list(zip(results, _derive(downloads, results, deriver)))


def _derive(downloads: list[Download], results: list[Extraction], deriver: int | None) -> Sequence[object]:
    """What the extractor's ``derive`` makes of these pages, None for each without a value. When
    it fails on the batch, each page is derived alone, so only the page it fails on has none."""
    derive = _DERIVERS.get(deriver) if deriver is not None else None
    if derive is None:
        return [None] * len(downloads)
    try:
        values = derive([(d.url, result) for d, result in zip(downloads, results)])
        if len(values) == len(downloads):
            return values
    except Exception:  # noqa: BLE001 - deriving is a head start: whoever needs the value makes it later
        pass
    if len(downloads) == 1:
        return [None]
    return [_derive([d], [result], deriver)[0] for d, result in zip(downloads, results)]


class PageExtractor:
    """Extract pages on every core while the rest are still downloading, each under a time limit.

    trafilatura has no timeout of its own and pathological HTML can keep it busy for minutes;
    pebble runs the work in worker processes and kills a worker when its time is up, so one page
    never stalls the night. Pages travel in small batches (one round trip per batch, not per
    page; a benchmark night ran faster with 16 pages a batch than with 8, and fewer expected
    pages make smaller batches, so every worker gets some); ``timeout`` is a batch's, and a batch
    that runs over it or crashes its worker is retried page by page, each page with the same
    limit, so only the bad page fails. With one core or few pages everything is extracted
    in-process.

    ``derive([(url, extraction), ...])``, when given, runs in the same worker on each batch once
    its pages are extracted (tagging them, say; a page retried alone is a batch of one, and
    in-process all pages are one batch): CPU work that would otherwise wait for the last page,
    on one core. It returns one value per page (None: nothing), which lands in ``derived`` by
    URL; when it raises or returns another number of values, each page is derived alone, and a
    page it raises on gets none.

    ``isolate`` keeps a pool even of one worker (``workers=1``): one process extracting beside
    the downloads, under the time limit, where the other cores are busy with other fetches.
    """

    def __init__(self, timeout: float = 20.0, workers: int | None = None, expected: int | None = None,
                 batch_size: int = 16, min_text_chars: int = MIN_TEXT_CHARS,
                 derive: Derive | None = None, isolate: bool = False) -> None:
        self.timeout = timeout
        self.derived: dict[str, object] = {}
        self._deriver = id(self) if derive is not None else None
        if derive is not None:
            _DERIVERS[id(self)] = derive  # before the workers fork: they inherit it
        self.min_text_chars = min_text_chars
        workers = workers or os.cpu_count() or 1
        self.batch_size = max(1, min(batch_size, math.ceil(expected / workers))) if expected else batch_size
        parallel = (workers > 1 or isolate) and (expected is None or expected >= PARALLEL_MIN_PAGES)
        if parallel:
            load_model()  # once here, inherited by the forked workers (not once per worker)
        self._pool = ProcessPool(max_workers=workers) if parallel else None
        self._pending: list[Download] = []
        self._batches: deque[tuple[list[Download], object]] = deque()
        self._retry: list[Download] = []
        self._results: dict[str, Extraction] = {}
        self._unclaimed: dict[str, Extraction] = {}  # finished, not yet handed out by ``ready``

    def __enter__(self) -> PageExtractor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        _DERIVERS.pop(id(self), None)
        if self._pool is not None:
            if self._batches:  # leaving early (an error): do not wait for outstanding work
                self._pool.stop()
            else:
                self._pool.close()
            self._pool.join()
            self._pool = None

    def submit(self, download: Download) -> None:
        """Queue one download; failed downloads need no worker."""
        self._pending.append(download)
        if self._pool is not None and len(self._pending) >= self.batch_size:
            self._flush()

    def _flush(self) -> None:
        batch = [d for d in self._pending if not d.reason]
        for d in self._pending:
            if d.reason:
                self._store(d.url, _extract_download(d, self.min_text_chars))
        self._pending = []
        if batch:
            self._batches.append((batch, self._pool.schedule(
                _extract_batch, args=(batch, self.min_text_chars, self._deriver), timeout=self.timeout)))

    def _store(self, url: str, result: Extraction, derived: object = None) -> None:
        self._results[url] = result
        self._unclaimed[url] = result
        if derived is not None:
            self.derived[url] = derived

    def _collect(self, batch: list[Download], future) -> None:
        try:
            extracted = future.result()
        except Exception:  # a timeout or a dead worker: find the bad page alone
            self._retry.extend(batch)
            return
        for download, (result, derived) in zip(batch, extracted):
            self._store(download.url, result, derived)

    def ready(self) -> dict[str, Extraction]:
        """The extractions finished since the last call, without waiting (so the caller can use
        them while pages are still downloading). Batches finish about in the order sent; a batch
        that failed is retried page by page in ``results``."""
        while self._batches and self._batches[0][1].done():
            self._collect(*self._batches.popleft())
        claimed, self._unclaimed = self._unclaimed, {}
        return claimed

    def results(self) -> dict[str, Extraction]:
        """Every submitted page's extraction, by URL (waits for the workers)."""
        if self._pool is None:
            for d, pair in zip(self._pending, _extract_batch(self._pending, self.min_text_chars, self._deriver)):
                self._store(d.url, *pair)
            self._pending = []
            return self._results
        self._flush()
        while self._batches:
            self._collect(*self._batches.popleft())
        singles = [(d, self._pool.schedule(_extract_batch, args=([d], self.min_text_chars, self._deriver),
                                           timeout=self.timeout)) for d in self._retry]
        self._retry = []
        for download, future in singles:
            self._store(download.url, *self._single_result(download, future))
        return self._results

    def _single_result(self, download: Download, future) -> tuple[Extraction, object]:
        try:
            return future.result()[0]
        except FuturesTimeout:
            reason = f"extraction timed out after {self.timeout:g}s"
        except Exception as exc:  # a crashed worker (memory, segfault) is one page's failure
            reason = f"extraction failed: {type(exc).__name__}: {exc}"
        return Extraction(source=download.url, reason=reason, http_status=download.http_status), None


def extract_downloads(downloads: list[Download], timeout: float = 20.0, workers: int | None = None) -> list[Extraction]:
    """Extract already-downloaded pages (see PageExtractor), in order."""
    todo = sum(not d.reason for d in downloads)
    with PageExtractor(timeout, workers, expected=todo) as extractor:
        for download in downloads:
            extractor.submit(download)
        results = extractor.results()
    return [results[d.url] for d in downloads]


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
