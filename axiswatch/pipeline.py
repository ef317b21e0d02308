"""The steps of one pass, as plain functions, and ``run_pass`` that wires them together.

The Airflow DAGs call these same steps; nothing is implemented twice. The warehouse is opened
only briefly (to read state, then to load), so the file is not locked while the network works.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

from alerts.config import AlertsConfig
from alerts.outbox import deliver as deliver_alerts
from axiswatch.collection import fewer_collections
from ingest.articles import Download, PageExtractor, download_page
from ingest.feeds import fetch_feed
from ingest.http import FETCH_ERROR_KINDS, HttpClient, HttpSettings
from ingest.records import Entry, Extraction, FeedResult, FeedSource, FeedState
from ingest.robots import RobotsCache
from transform.articles import (
    Article,
    Duplicate,
    build_article,
    split_exact_duplicates,
    unique_entries,
)
from transform.clusters import (
    ClusterSettings,
    StoryIndex,
    assign,
    cluster_id_for,
    signatures,
)
from transform.tagging import Tagger
from warehouse import clusters as cluster_store
from warehouse import load
from warehouse.db import in_transaction, open_warehouse
from warehouse.location import Location
from warehouse.report import publish_run_report
from warehouse.rows import ArticleRows
from warehouse.search import refresh_index
from warehouse.snapshot import publish_snapshot, snapshot_exists

Progress = Callable[[str, int, int], None]


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


@contextmanager
def _stage(progress: Progress, name: str) -> Iterator[None]:
    """Report a one-step stage's start and end (so long runs show where the time goes)."""
    progress(name, 0, 1)
    yield
    progress(name, 1, 1)


@dataclass
class RunSummary:
    """What ``axiswatch run --json`` prints."""

    run_id: str
    feeds_ok: int = 0
    feeds_failed: int = 0
    entries_seen: int = 0
    articles_new: int = 0
    duplicates: int = 0
    axis_new: int = 0
    errors: list[dict] = field(default_factory=list)
    pages_failed: int = 0
    stories_new: int = 0
    axis_stories_new: int = 0
    database: str = ""
    report: str = ""
    alerts_sent: int = 0
    alerts_failed: int = 0

    def as_json(self) -> dict:
        return asdict(self)


def new_run_id(now: datetime) -> str:
    return f"run-{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


def prepare_warehouse(db: str | Path, sources: Sequence[FeedSource]) -> dict[str, FeedState]:
    """Migrate, record the configured feeds, and return each feed's conditional-GET state."""
    con = open_warehouse(db)
    try:
        load.sync_feeds(con, sources)
        return load.feed_states(con)
    finally:
        con.close()


def _parallel(fn, items: list, workers: int, stage: str, progress: Progress) -> list:
    """Map ``fn`` over ``items`` on a thread pool, in order, reporting progress."""
    results = [None] * len(items)
    progress(stage, 0, len(items))
    with ThreadPoolExecutor(max_workers=max(1, min(workers, len(items) or 1))) as pool:
        futures = {pool.submit(fn, item): i for i, item in enumerate(items)}
        for done, future in enumerate(as_completed(futures), 1):
            results[futures[future]] = future.result()
            progress(stage, done, len(items))
    return results


def fetch_feeds(
    client: HttpClient,
    sources: Sequence[FeedSource],
    states: dict[str, FeedState],
    workers: int = 8,
    progress: Progress = _no_progress,
) -> list[FeedResult]:
    """Fetch every enabled feed concurrently (the client limits requests per host)."""
    enabled = [s for s in sources if s.enabled]
    return _parallel(lambda s: fetch_feed(client, s, states.get(s.name)), enabled, workers, "feeds", progress)


def new_entries(db: str | Path, results: Sequence[FeedResult]) -> dict[str, Entry]:
    """Entries (by canonical URL) whose URL is not stored yet."""
    by_url = unique_entries(e for r in results for e in r.entries)
    con = open_warehouse(db)
    try:
        known = load.known_urls(con, by_url)
    finally:
        con.close()
    return {url: entry for url, entry in by_url.items() if url not in known}


def fetch_articles(
    client: HttpClient, entries: dict[str, Entry], workers: int = 8, progress: Progress = _no_progress,
    extraction_timeout: float = 20.0, sources: Sequence[FeedSource] = (),
    on_extracted: Callable[[dict[str, Extraction]], None] | None = None,
) -> dict[str, Extraction]:
    """Fetch each new article page (threads: network-bound), then extract them all (processes:
    CPU-bound, with a time limit per page); failures come back with a reason.

    ``on_extracted`` is handed the pages (by canonical URL) as their extraction finishes, in
    portions, while other pages are still downloading; every page is handed over once."""
    urls = list(entries)
    url_of = {entry.link: url for url, entry in entries.items()}

    def hand_over(extracted: dict[str, Extraction]) -> None:
        if on_extracted is not None and extracted:
            on_extracted({url_of[link]: page for link, page in extracted.items()})
    sources_delay = {s.name: s.crawl_delay for s in sources}
    robots = RobotsCache(client) if client.settings.respect_robots else None

    delays = {e.feed: d for e in entries.values() if (d := sources_delay.get(e.feed)) is not None}
    for entry in entries.values():  # a feed's crawl_delay applies to the hosts of its pages too
        if entry.feed in delays:
            client.set_host_delay(urlsplit(entry.link).hostname or "", delays[entry.feed])

    def download(url: str) -> Download:
        link = entries[url].link
        if robots is not None and not robots.allowed(link):
            return Download(link, reason="robots: disallowed by robots.txt")
        return download_page(client, link)

    # Pages go to the extraction workers as they arrive, so both cores extract while the
    # network is still busy instead of waiting for the last download.
    progress("articles", 0, len(urls))
    with PageExtractor(extraction_timeout, expected=len(urls)) as extractor, \
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


HAND_OVER_EVERY = 64  # downloads between looks for finished extractions


class ArticleBuilder:
    """Articles built from their entries and extracted pages as the pages come in, and turned
    into the warehouse's Arrow rows a chunk at a time (see ``warehouse.rows.ArticleRows``), so
    the load after the last page only has to write them."""

    def __init__(self, entries: dict[str, Entry]) -> None:
        self.entries = entries
        self.articles: dict[str, Article] = {}  # by canonical URL
        self.rows = ArticleRows()

    def add(self, pages: dict[str, Extraction]) -> None:
        """Build the articles of ``pages`` (by canonical URL) not built before."""
        built = [build_article(url, self.entries[url], page) for url, page in pages.items() if url not in self.articles]
        self.articles.update((a.canonical_url, a) for a in built)
        self.rows.add(built)

    def in_entry_order(self) -> list[Article]:
        """The built articles in the order of the entries (the order exact dedup keeps first)."""
        return [self.articles[url] for url in self.entries if url in self.articles]


def dedupe_exact(db: str | Path, articles: list[Article]) -> tuple[list[Article], list[Duplicate]]:
    con = open_warehouse(db)
    try:
        known = load.known_hashes(con, (a.content_hash for a in articles))
    finally:
        con.close()
    return split_exact_duplicates(articles, known)


def feed_errors(results: Sequence[FeedResult]) -> list[dict]:
    return [
        {"feed": r.source.name, "url": r.source.url, "kind": r.error_kind, "message": r.error}
        for r in results
        if not r.ok
    ]


_FETCH_KINDS = FETCH_ERROR_KINDS | {"robots"}  # a page skipped by robots.txt was never fetched


def page_errors(articles: Sequence[Article]) -> list[dict]:
    """One error per article kept without page text; kind says whether fetching or extraction failed."""
    errors = []
    for a in articles:
        if a.fetch_status == "ok":
            continue
        prefix = a.fetch_error.split(":", 1)[0]
        kind = f"page_{prefix}" if prefix in _FETCH_KINDS else "page_extraction"
        errors.append({"feed": a.feed, "url": a.url, "kind": kind, "message": a.fetch_error})
    return errors


@dataclass
class LoadResult:
    articles_new: int = 0
    duplicates: int = 0
    pages_failed: int = 0
    errors: list[dict] = field(default_factory=list)


def load_articles(
    db: str | Path,
    run: load.RunRecord,
    results: Sequence[FeedResult],
    entries: dict[str, Entry],
    pages: dict[str, Extraction],
    extra_errors: Sequence[dict] = (),
    feeds_missing: int = 0,
    progress: Progress = _no_progress,
    built: ArticleBuilder | None = None,
) -> LoadResult:
    """Join entries and pages into articles, drop exact copies, and load it all in one transaction.

    ``feeds_missing`` counts planned feeds whose fetch left no result (an Airflow task that died).
    ``built`` has the articles of some pages built already (``run_pass`` builds them as pages
    arrive); the rest are built here."""
    built = built or ArticleBuilder(entries)
    built.add(pages)  # the pages not built yet
    built.rows.convert()  # the last partial chunk: building rows is not the load's work
    articles, duplicates = dedupe_exact(db, built.in_entry_order())
    run.feeds_ok = sum(r.ok for r in results)
    run.feeds_failed = len(results) - run.feeds_ok + feeds_missing
    run.entries_seen = sum(len(r.entries) for r in results)
    run.articles_new, run.duplicates = len(articles), len(duplicates)
    run.errors = feed_errors(results) + page_errors(articles) + list(extra_errors)
    run.status = "loaded"
    run.finished_at = datetime.now(UTC)
    con = open_warehouse(db)
    try:
        progress("load", 0, len(articles))
        inserted, dup_inserted = load.load_pass(con, run, results, articles, duplicates, run.finished_at,
                                                prebuilt=built.rows)
        progress("load", len(articles), len(articles))
    finally:
        con.close()
    return LoadResult(inserted, dup_inserted, sum(a.fetch_status != "ok" for a in articles), run.errors)


@dataclass
class TagSummary:
    tagger_version: str
    articles: int = 0
    axis: int = 0
    changed: int = 0

    def as_json(self) -> dict:
        return asdict(self)


def _tag_stored(
    db: str | Path, tagger: Tagger, since: datetime | None, only_untagged: bool, progress: Progress,
    batch_size: int = 5000,
) -> TagSummary:
    con = open_warehouse(db)
    summary = TagSummary(tagger.version)
    untagged_by = tagger.version if only_untagged else None
    try:
        progress("tagging", 0, 0)
        for batch in load.articles_for_tagging(con, since, untagged_by, batch_size):
            tags = [tagger.tag(*row) for row in batch]
            before = load.latest_axis_flags(con, [t.id for t in tags])
            in_transaction(con, lambda tags=tags: load.insert_tags(con, tags, datetime.now(UTC)))
            summary.articles += len(tags)
            summary.axis += sum(t.is_axis for t in tags)
            summary.changed += sum(before.get(t.id) is not None and before[t.id] != t.is_axis for t in tags)
            progress("tagging", summary.articles, summary.articles)
    finally:
        con.close()
    return summary


def tag_untagged(db: str | Path, tagger: Tagger, progress: Progress = _no_progress) -> TagSummary:
    """Tag every stored article that has no tag from this tagger version yet (new ones, normally)."""
    return _tag_stored(db, tagger, None, True, progress)


def retag(db: str | Path, tagger: Tagger, since: datetime | None = None, progress: Progress = _no_progress,
          batch_size: int = 5000) -> TagSummary:
    """Re-apply the current tagger to stored articles; older versions' rows stay for comparison."""
    return _tag_stored(db, tagger, since, False, progress, batch_size)


def finish_run(db: str | Path, run_id: str, tags: TagSummary, stories: ClusterSummary) -> None:
    """Refresh the search index (when the run added articles) and mark a loaded run successful
    once its articles are tagged and clustered."""
    con = open_warehouse(db)
    try:
        if tags.articles or stories.articles:
            refresh_index(con)
        load.mark_run_done(con, run_id, tags.axis, datetime.now(UTC))
    finally:
        con.close()


def refresh_snapshot(db: str | Path, stored: bool) -> str | Path:
    """What the run's report reads: a fresh snapshot when the run stored anything (or there is
    none yet), else the warehouse itself, leaving the snapshot as it is: copying a large
    warehouse for a fetch log is most of a quiet night."""
    return publish_snapshot(db) if stored or not snapshot_exists(db) else db


@fewer_collections()
def run_pass(
    sources: Sequence[FeedSource],
    db: str | Path,
    http: HttpSettings,
    tagger: Tagger,
    workers: int = 8,
    progress: Progress = _no_progress,
    cluster_settings: ClusterSettings | None = None,
    reports_dir: str | Path | None = None,
    alerts_config: AlertsConfig | None = None,
) -> RunSummary:
    """One full pass: feeds -> pages -> canonical URLs and exact dedup -> DuckDB -> tags -> stories.
    The garbage collector runs less often meanwhile (see ``axiswatch.collection``)."""
    started = datetime.now(UTC)
    run = load.RunRecord(run_id=new_run_id(started), started_at=started)
    states = prepare_warehouse(db, sources)
    with HttpClient(http) as client:
        results = fetch_feeds(client, sources, states, workers, progress)
        entries = new_entries(db, results)
        built = ArticleBuilder(entries)
        pages = fetch_articles(client, entries, workers, progress, sources=sources, on_extracted=built.add)
    progress("build", 0, len(entries))
    loaded = load_articles(db, run, results, entries, pages, progress=progress, built=built)
    progress("build", len(entries), len(entries))
    tags = tag_untagged(db, tagger, progress)
    stories = cluster_new_articles(db, cluster_settings, run.run_id, progress)
    with _stage(progress, "finish"):
        finish_run(db, run.run_id, tags, stories)
    with _stage(progress, "snapshot"):
        stored = loaded.articles_new or loaded.duplicates or tags.articles or stories.articles
        snapshot = refresh_snapshot(db, bool(stored))
    with _stage(progress, "report"):
        report = publish_run_report(snapshot, reports_dir or Location.parse(db).home / "reports", run.run_id, started)
    with _stage(progress, "alerts"):
        alerts = deliver_alerts(db, alerts_config or AlertsConfig(), run.run_id, http)
    return RunSummary(
        alerts_sent=alerts.sent,
        alerts_failed=alerts.failed,
        report=str(report),
        run_id=run.run_id,
        feeds_ok=run.feeds_ok,
        feeds_failed=run.feeds_failed,
        entries_seen=run.entries_seen,
        articles_new=loaded.articles_new,
        duplicates=loaded.duplicates,
        axis_new=tags.axis,
        errors=loaded.errors,
        pages_failed=loaded.pages_failed,
        stories_new=stories.stories_new,
        axis_stories_new=stories.axis_stories_new,
        database=str(db),
    )


@dataclass
class ClusterSummary:
    articles: int = 0
    stories_new: int = 0
    joined: int = 0
    axis_stories_new: int = 0


def cluster_new_articles(
    db: str | Path, settings: ClusterSettings | None = None, run_id: str | None = None,
    progress: Progress = _no_progress,
) -> ClusterSummary:
    """Give every article without a story one: join a near-duplicate's story or found a new one.

    The index is rebuilt from the signatures stored for articles in the window, so a fresh
    process (or an Airflow worker on another machine) reaches the same answer.
    """
    settings = settings or ClusterSettings()
    con = open_warehouse(db)
    summary = ClusterSummary()
    try:
        docs = cluster_store.unclustered(con)
        index = StoryIndex(settings)
        bounds = cluster_store.window_bounds(docs, settings.window_days)
        if bounds:
            for member_id, cluster_id, time, sig in cluster_store.members_between(con, *bounds):
                index.add(member_id, cluster_id, time, sig)
        progress("clusters", 0, len(docs))
        assignments = []
        for n, (doc, sig) in enumerate(zip(docs, signatures(docs, settings)), 1):
            cluster = assign(index, doc, sig)
            assignments.append((doc, cluster, sig))
            if n % 500 == 0:
                progress("clusters", n, len(docs))
        progress("clusters", len(docs), len(docs))
        now = datetime.now(UTC)

        def save() -> None:
            cluster_store.save_assignments(con, assignments, run_id, now)
            if run_id:
                cluster_store.refresh_stories(con, cluster_store.stories_of_duplicates(con, run_id), now)

        in_transaction(con, save)
        founded = {c for d, c, _ in assignments if c == cluster_id_for(d.id)}
        summary.articles = len(assignments)
        summary.stories_new = len(founded)
        summary.joined = len(assignments) - len(founded)
        if founded:
            summary.axis_stories_new = con.execute(
                "SELECT count(*) FROM v_axis_stories WHERE cluster_id IN (SELECT unnest(?))", [sorted(founded)]
            ).fetchone()[0]
    finally:
        con.close()
    return summary
