"""A run's article pages: downloaded through the guarded client on threads (network-bound) and
extracted on every core while the rest still download (CPU-bound, with a time limit per page)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from urllib.parse import urlsplit

from ingest.articles import Derive, Download, PageExtractor, download_page
from ingest.http import HttpClient
from ingest.progress import Progress, no_progress
from ingest.records import Entry, Extraction, FeedSource
from ingest.robots import RobotsCache
from ingest.settings import ExtractionSettings

HAND_OVER_EVERY = 64  # downloads between looks for finished extractions


def apply_crawl_delays(client: HttpClient, entries: dict[str, Entry], sources: Sequence[FeedSource]) -> None:
    """A feed's ``crawl_delay`` applies to the hosts of its pages too (whoever fetches them)."""
    delays = {s.name: s.crawl_delay for s in sources if s.crawl_delay is not None}
    for entry in entries.values():
        if entry.feed in delays:
            client.set_host_delay(urlsplit(entry.link).hostname or "", delays[entry.feed])


def fetch_articles(
    client: HttpClient, entries: dict[str, Entry], workers: int = 8, progress: Progress = no_progress,
    extraction: ExtractionSettings = ExtractionSettings(), sources: Sequence[FeedSource] = (),
    on_extracted: Callable[[dict[str, Extraction]], None] | None = None,
    derive: Derive | None = None, derived: dict[str, object] | None = None,
) -> dict[str, Extraction]:
    """Fetch each page of ``entries`` (by canonical URL) and extract it; failures come back with
    a reason.

    ``on_extracted`` is handed the pages (by canonical URL) as their extraction finishes, in
    portions, while other pages are still downloading; every page is handed over once.
    ``derive([(canonical_url, extraction), ...])`` runs in the extraction workers on each batch of
    extracted pages (see ``PageExtractor``); what it returns lands in ``derived`` by canonical URL, at
    the latest when the page is handed to ``on_extracted``."""
    urls = list(entries)
    url_of = {entry.link: url for url, entry in entries.items()}

    def hand_over(extracted: dict[str, Extraction]) -> None:
        if derived is not None:
            made = extractor.derived
            derived.update((url_of[link], made[link]) for link in extracted if link in made)
        if on_extracted is not None and extracted:
            on_extracted({url_of[link]: page for link, page in extracted.items()})

    robots = RobotsCache(client) if client.settings.respect_robots else None
    apply_crawl_delays(client, entries, sources)

    def download(url: str) -> Download:
        link = entries[url].link
        if robots is not None and not robots.allowed(link):
            return Download(link, reason="robots: disallowed by robots.txt")
        return download_page(client, link)

    # Pages go to the extraction workers as they arrive, so both cores extract while the
    # network is still busy instead of waiting for the last download.
    progress("articles", 0, len(urls))
    by_link = None if derive is None else (lambda pairs: derive([(url_of[link], page) for link, page in pairs]))
    with PageExtractor(extraction.timeout, extraction.processes, expected=len(urls),
                       min_text_chars=extraction.min_text_chars, derive=by_link,
                       isolate=extraction.processes is not None) as extractor, \
            ThreadPoolExecutor(max_workers=max(1, min(workers, len(urls) or 1))) as pool:
        futures = [pool.submit(download, url) for url in urls]
        for done, future in enumerate(as_completed(futures), 1):
            extractor.submit(future.result())
            progress("articles", done, len(urls))
            if done % HAND_OVER_EVERY == 0:
                hand_over(extractor.ready())
        progress("extraction", 0, len(urls))
        pages = extractor.results()
        hand_over(extractor.ready())
        progress("extraction", len(urls), len(urls))
    return {url: pages[entries[url].link] for url in urls}
