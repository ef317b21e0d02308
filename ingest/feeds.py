"""Feeds and news sitemaps: fetch bytes through the guarded client, parse them into entries.

feedparser only ever sees bytes we fetched (given a string it would open local files and make its
own unbounded requests). A body whose hash equals last night's is not parsed again.
"""

from __future__ import annotations

import calendar
import hashlib
import os
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import feedparser
from lxml import etree

from ingest.http import FetchError, HttpClient
from ingest.progress import Progress, no_progress
from ingest.settings import FeedLimits
from ingest.records import Entry, FeedResult, FeedSource, FeedState, raw_json
from ingest.text import clean_string, collapse_ws, html_to_text

SITEMAP_NS = "http://www.sitemaps.org/schemas/sitemap/0.9"
NEWS_NS = "http://www.google.com/schemas/sitemap-news/0.9"


DEFAULT_LIMITS = FeedLimits()
FUTURE_SLACK = timedelta(days=1)
_UNSAFE_XML = re.compile(rb"<!DOCTYPE[^>]*\[|<!ENTITY", re.IGNORECASE)
_SHARED_PARSES: dict[int, threading.BoundedSemaphore] = {}
_SHARED_LOCK = threading.Lock()


def _process_parses(limit: int) -> threading.BoundedSemaphore:
    """The process-wide parse slots for ``limit``: lone ``fetch_feed`` calls on several threads
    (no ``fetch_feeds`` to share one semaphore) still parse at most ``limit`` feeds at once."""
    with _SHARED_LOCK:
        slots = _SHARED_PARSES.get(limit)
        if slots is None:
            slots = _SHARED_PARSES[limit] = threading.BoundedSemaphore(limit)
        return slots


class FeedParseError(ValueError):
    """The body is neither a feed nor a news sitemap we can read; ``kind`` says why."""

    def __init__(self, message: str, kind: str = "malformed") -> None:
        super().__init__(message)
        self.kind = kind


class SitemapIndex(Exception):
    """The body is a sitemap index: the entries are in the child sitemaps it lists."""

    def __init__(self, children: list[str]) -> None:
        super().__init__(f"sitemap index with {len(children)} children")
        self.children = children


def body_hash(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def fetch_feed(client: HttpClient, source: FeedSource, state: FeedState | None,
               limits: FeedLimits = DEFAULT_LIMITS, parses: threading.Semaphore | None = None,
               parse: Callable[..., tuple[list[Entry], str]] | None = None) -> FeedResult:
    """Fetch and parse one feed; every failure is returned as an error result, never raised.

    The parse waits for one of ``parses`` (by default the process's ``feed.max_parallel_parses``
    slots): a parse of a 15 MiB body peaks at several times that, so eight at once would not fit
    the memory budget. Downloads are not limited by it, only the parsing. ``parse`` (default
    ``parse_feed`` in this thread) is how: ``FeedParsers.parse`` does it in worker processes.
    """
    parse = parse or parse_feed
    parses = parses or _process_parses(limits.max_parallel_parses)
    state = state or FeedState()
    headers = {"Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, */*;q=0.5"}
    if state.etag:
        headers["If-None-Match"] = state.etag
    if state.last_modified:
        headers["If-Modified-Since"] = state.last_modified
    started = time.monotonic()
    result = FeedResult(source=source, status="error", state=state, prior_state=state)
    if source.crawl_delay is not None:
        client.set_host_delay(urlsplit(source.url).hostname or "", source.crawl_delay)
    try:
        response = client.get(source.url, headers=headers)
    except FetchError as exc:
        result.error_kind, result.error, result.http_status = exc.kind, str(exc), exc.status
        result.duration_ms = int((time.monotonic() - started) * 1000)
        return result
    result.http_status = response.status
    result.bytes = len(response.body)
    new_state = FeedState(
        etag=response.headers.get("etag", "") or state.etag,
        last_modified=response.headers.get("last-modified", "") or state.last_modified,
        body_hash=state.body_hash,
    )
    result.state = new_state
    if response.not_modified:
        result.status = "not_modified"
    elif (digest := body_hash(response.body)) == state.body_hash:
        result.status = "unchanged"
    else:
        new_state.body_hash = digest
        try:
            try:
                with parses:
                    result.entries, result.feed_format = parse(
                        response.body, source, response.url, response.headers.get("content-type", ""), limits
                    )
            except SitemapIndex as index:
                result.entries = _fetch_children(client, source, index.children, limits, parses)
                result.feed_format = "sitemap"
            result.status = "ok"
        except FetchError as exc:
            result.error_kind, result.error = exc.kind, f"child sitemap: {exc}"
            new_state.body_hash = state.body_hash
        except FeedParseError as exc:
            result.error_kind, result.error = exc.kind, str(exc)
            # Keep the old hash so a repaired feed is parsed again next time.
            new_state.body_hash = state.body_hash
    result.duration_ms = int((time.monotonic() - started) * 1000)
    return result


def _fetch_children(client: HttpClient, source: FeedSource, children: list[str], limits: FeedLimits,
                    parses: threading.Semaphore) -> list[Entry]:
    """Entries of the first few child sitemaps of an index (news indexes list newest first); each
    child is parsed in a parse slot, none held while downloading."""
    entries: list[Entry] = []
    for child in children[: limits.max_child_sitemaps]:
        body = client.get(child).body
        with parses:
            entries.extend(parse_sitemap(body, source, limits))
        del body  # not held while the next child downloads
    return entries


def parse_feed(
    body: bytes, source: FeedSource, base_url: str = "", content_type: str = "", limits: FeedLimits = DEFAULT_LIMITS,
) -> tuple[list[Entry], str]:
    """Parse RSS 0.9x/1.0/2.0, Atom or a news sitemap into entries; return them and the format."""
    if _UNSAFE_XML.search(body[:65536]):
        # Entity declarations are how billion-laughs, quadratic blowup and XXE arrive; no real
        # feed needs them. Refused before any parser sees the body.
        raise FeedParseError("refused: XML with a DOCTYPE internal subset or entity declarations", "unsafe_xml")
    head = body[:2048].lstrip().lower()
    if head.startswith((b"<!doctype html", b"<html")) or head[:1] in (b"{", b"["):
        kind = "an HTML page" if head[:1] == b"<" else "JSON"
        raise FeedParseError(f"not a feed: the server sent {kind}", "not_a_feed")
    if b"<urlset" in head or b"<sitemapindex" in head:
        return parse_sitemap(body, source, limits), "sitemap"
    headers = {"content-location": base_url or source.url}
    if content_type:
        headers["content-type"] = content_type
    try:
        # Titles and summaries become plain text (``html_to_text``: scripts and styles dropped,
        # tags stripped), so feedparser's HTML sanitizing and link resolving inside them are work
        # nobody reads (about half of its parse on real feeds: benchmarks/README.md). The ``raw``
        # title keeps the feed's own HTML.
        parsed = feedparser.parse(body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False)
    except Exception as exc:  # feedparser raises on some hostile inputs instead of bozo
        raise FeedParseError(f"feed parser failed: {type(exc).__name__}: {exc}") from None
    if not parsed.get("version") and not parsed.entries:
        reason = parsed.get("bozo_exception") or "no RSS/Atom root element"
        raise FeedParseError(f"not a feed: {reason}", "not_a_feed")
    feed_lang = (parsed.feed.get("language") or source.language or "").lower()
    # Every entry is kept (the body is capped at http.max_bytes): the per-run cap applies to the
    # entries not stored yet (see axiswatch.steps.plan_pages), so a long feed is read to its end
    # over several runs instead of being cut.
    entries = [e for e in (_entry(item, source, feed_lang, limits) for item in parsed.entries) if e.link]
    benign = (feedparser.CharacterEncodingOverride, feedparser.NonXMLContentType)
    if not entries and parsed.get("bozo") and not isinstance(parsed.get("bozo_exception"), benign):
        raise FeedParseError(f"malformed feed with no usable entries: {parsed.get('bozo_exception')}")
    return entries, parsed.get("version") or "unknown"


def _entry(item, source: FeedSource, feed_lang: str, limits: FeedLimits) -> Entry:
    published = item.get("published_parsed") or item.get("updated_parsed")
    link = clean_string(item.get("link") or "")
    guid = clean_string(item.get("id") or "")
    if not link and guid.startswith(("http://", "https://")):
        link = guid
    return Entry(
        feed=source.name,
        outlet=source.outlet or source.name,
        link=link.strip(),
        guid=guid,
        title=html_to_text(item.get("title"))[: limits.max_title],
        summary=html_to_text(item.get("summary"))[: limits.max_summary],
        published_at=_plausible(_from_struct(published)),
        language=(item.get("language") or feed_lang or "").lower()[:2],
        author=clean_string(item.get("author") or ""),
        raw=raw_json({
            "title": clean_string(item.get("title") or ""),
            "link": link,
            "id": guid,
            "published": clean_string(item.get("published") or item.get("updated") or ""),
            "tags": [clean_string(t.get("term") or "") for t in item.get("tags", [])][:20],
        }),
    )


def _plausible(when: datetime | None) -> datetime | None:
    """A publication date in the future (beyond a day of clock skew) is a feed bug: store NULL."""
    if when is not None and when > datetime.now(UTC) + FUTURE_SLACK:
        return None
    return when


def _from_struct(value) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromtimestamp(calendar.timegm(value), tz=UTC)
    except (OverflowError, ValueError, TypeError):
        return None


def parse_sitemap(body: bytes, source: FeedSource, limits: FeedLimits = DEFAULT_LIMITS) -> list[Entry]:
    """Parse a Google News sitemap (``<urlset>`` with ``news:`` elements) into entries."""
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, recover=True, load_dtd=False
    )
    try:
        root = etree.fromstring(body, parser=parser)
    except etree.XMLSyntaxError as exc:
        raise FeedParseError(f"sitemap is not XML: {exc}") from None
    if root is None:
        raise FeedParseError("sitemap is empty")
    ns = {"s": SITEMAP_NS, "n": NEWS_NS}
    if etree.QName(root).localname == "sitemapindex":
        children = [collapse_ws(loc.text or "") for loc in root.findall("s:sitemap/s:loc", ns)]
        raise SitemapIndex([c for c in children if c])
    entries = []
    for url in root.findall("s:url", ns):
        loc = collapse_ws(url.findtext("s:loc", default="", namespaces=ns))
        if not loc:
            continue
        title = url.findtext("n:news/n:title", default="", namespaces=ns)
        date = url.findtext("n:news/n:publication_date", default="", namespaces=ns) or url.findtext(
            "s:lastmod", default="", namespaces=ns
        )
        lang = url.findtext("n:news/n:publication/n:language", default="", namespaces=ns)
        entries.append(
            Entry(
                feed=source.name,
                outlet=source.outlet or source.name,
                link=loc,
                guid=loc,
                title=html_to_text(title)[: limits.max_title],
                published_at=_plausible(_parse_iso(date)),
                language=(lang or source.language or "").lower()[:2],
                raw=raw_json({"title": title, "link": loc, "published": date}),
            )
        )
    return entries


def _parse_iso(value: str) -> datetime | None:
    value = (value or "").strip()
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


class FeedParsers:
    """``parse_feed`` in worker processes, one feed per worker at a time.

    feedparser is pure Python (about 0.6 ms per entry here): parsed on the fetching threads, a
    night's feeds take turns on one core, however many the machine has. The workers are started
    before any fetching thread (so no lock is held mid-fork), and a parse that runs past
    ``feed.parse_timeout`` has its worker killed: that feed fails, the others go on.
    """

    def __init__(self, workers: int, limits: FeedLimits = DEFAULT_LIMITS) -> None:
        from pebble import ProcessPool

        self.timeout = limits.parse_timeout
        self._pool = ProcessPool(max_workers=max(1, workers))

    def __enter__(self) -> FeedParsers:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.stop()  # parses still running belong to a run that is over
        self._pool.join()

    def parse(self, body: bytes, source: FeedSource, base_url: str = "", content_type: str = "",
              limits: FeedLimits = DEFAULT_LIMITS) -> tuple[list[Entry], str]:
        """``parse_feed``, in a worker; raises what it raises."""
        future = self._pool.schedule(_parse_in_worker, args=(body, source, base_url, content_type, limits),
                                     timeout=self.timeout)
        try:
            outcome = future.result()
        except TimeoutError:
            raise FeedParseError(f"feed parse took longer than {self.timeout:g}s (feed.parse_timeout)") from None
        except Exception as exc:  # a worker killed by the kernel (memory) or crashed
            raise FeedParseError(f"feed parser failed: {type(exc).__name__}: {exc}") from None
        kind, *values = outcome
        if kind == "index":
            raise SitemapIndex(values[0])
        if kind == "error":
            raise FeedParseError(*values)
        return values[0], values[1]


def _parse_in_worker(body: bytes, source: FeedSource, base_url: str, content_type: str,
                     limits: FeedLimits) -> tuple:
    """``parse_feed``'s outcome as plain data: its exceptions do not survive pickling with their
    fields (a ``SitemapIndex`` would come back without its children)."""
    try:
        entries, feed_format = parse_feed(body, source, base_url, content_type, limits)
    except SitemapIndex as index:
        return ("index", index.children)
    except FeedParseError as exc:
        return ("error", str(exc), exc.kind)
    return ("ok", entries, feed_format)


PARALLEL_MIN_FEEDS = 4  # fewer feeds are parsed on the fetching threads: workers cost more than they save


def fetch_feeds(
    client: HttpClient,
    sources: Sequence[FeedSource],
    states: Mapping[str, FeedState],
    workers: int = 8,
    progress: Progress = no_progress,
    limits: FeedLimits = DEFAULT_LIMITS,
) -> list[FeedResult]:
    """Fetch every enabled feed concurrently, in the order given (the client limits requests
    per host); a failing feed is a result with its error, never an exception. With several
    cores and feeds, the parsing runs in worker processes (``FeedParsers``)."""
    enabled = [s for s in sources if s.enabled]
    cores = min(os.cpu_count() or 1, limits.max_parallel_parses)
    if cores > 1 and len(enabled) >= PARALLEL_MIN_FEEDS:
        with FeedParsers(cores, limits) as parsers:
            return _fetch_all(client, enabled, states, workers, progress, limits, parsers.parse)
    return _fetch_all(client, enabled, states, workers, progress, limits, parse_feed)


def _fetch_all(client: HttpClient, enabled: Sequence[FeedSource], states: Mapping[str, FeedState], workers: int,
               progress: Progress, limits: FeedLimits, parse: Callable[..., tuple[list[Entry], str]]) -> list[FeedResult]:
    results: list[FeedResult | None] = [None] * len(enabled)
    progress("feeds", 0, len(enabled))
    # One set of parse slots for this call's threads: at most feed.max_parallel_parses parse at once.
    parses = threading.BoundedSemaphore(limits.max_parallel_parses)
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(enabled) or 1))) as pool:
        futures = {
            pool.submit(fetch_feed, client, s, states.get(s.name), limits, parses, parse): i
            for i, s in enumerate(enabled)
        }
        for done, future in enumerate(as_completed(futures), 1):
            results[futures[future]] = future.result()
            progress("feeds", done, len(enabled))
    return results  # type: ignore[return-value]
