"""The steps of a run, each one function: prepare, fetch feeds, plan pages, fetch pages, load,
tag, cluster, publish, alert.

``axiswatch run`` calls them in order in one process (``axiswatch.pipeline.run_pass``); every
Airflow task calls exactly one of them (``axiswatch.orchestration``), moving what one step hands
the next through staging files. Each step that touches the warehouse opens one connection and
closes it, so the file is not held while the network works; migrations are applied once, in
``prepare``. The work itself lives in the stages: fetching in ``ingest/``, tagging and clustering
in ``transform/``, SQL in ``warehouse/``.
"""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from axiswatch.config import Settings
from ingest.progress import Progress, no_progress, one_step
from ingest.records import Entry, Extraction, FeedResult, FeedSource, FeedState

if TYPE_CHECKING:  # heavy modules load when a step runs, not when a task imports this file
    import duckdb

    from alerts.outbox import AlertSummary
    from ingest.http import HttpClient, HttpSettings
    from transform.clusters import Signature
    from transform.early_tags import Early
    from transform.supply_events import SupplyEventExtractor
    from transform.tagging import Tag, Tagger
    from warehouse.clusters import ClusterSummary
    from warehouse.rows import ArticleBuilder
    from warehouse.tags import TagSummary


@dataclass
class RunContext:
    """What every step of one run knows: which run, which warehouse, and the run's settings
    (``settings`` is the one settings tree; every limit a step applies comes from it)."""

    run_id: str
    started_at: datetime
    database: str
    sources: Sequence[FeedSource]
    http: HttpSettings
    settings: Settings = field(default_factory=Settings)
    orchestrator: str = "cli"  # or "airflow": its tasks' processes come and go
    reports_dir: str | Path | None = None  # None: beside the warehouse
    progress: Progress = no_progress

    def report_dir(self) -> Path:
        from warehouse.location import Location

        return Path(self.reports_dir) if self.reports_dir else Location.parse(self.database).home / "reports"


@contextmanager
def warehouse(ctx: RunContext) -> Iterator[duckdb.DuckDBPyConnection]:
    """The step's one connection to the warehouse (schema already brought up to date by prepare)."""
    from warehouse.db import connect

    con = connect(ctx.database)
    try:
        yield con
    finally:
        con.close()


@dataclass
class Prepared:
    states: dict[str, FeedState]
    abandoned: list[str] = field(default_factory=list)  # runs found dead and marked so


def prepare(ctx: RunContext, on_wait: Callable[[str], None] | None = None) -> Prepared:
    """Migrate the warehouse, mark runs whose process is gone as abandoned, claim the warehouse
    for this run (waiting up to ``run_wait_seconds`` for another active run, then ``RunBusy``), record
    the configured feeds, and return each feed's conditional-GET state."""
    with one_step(ctx.progress, "prepare"):
        return _claim_and_prepare(ctx, on_wait)


def _claim_and_prepare(ctx: RunContext, on_wait: Callable[[str], None] | None) -> Prepared:
    from warehouse import load, runs
    from warehouse.db import WarehouseLocked, open_warehouse

    me = runs.Claimant.this_process(ctx.run_id, ctx.started_at, ctx.orchestrator)
    wait = ctx.settings.run_wait_seconds
    deadline = time.monotonic() + wait
    announced = False
    while True:
        # A file held longer than warehouse.lock_wait_seconds fails here as locked, naming the PID
        # (a stranger's lock must fail fast), unless the holder is another run (its marker beside
        # the file names its process): that run is waited for like one found by its claim row.
        try:
            con = open_warehouse(ctx.database)
        except WarehouseLocked as exc:
            holder = runs.run_holding(ctx.database, exc.holder_pid)
            if holder is None:
                raise
        else:
            try:
                now = datetime.now(UTC)
                abandoned = runs.abandon_stale(con, now, ctx.settings.stale_after(), me.host, keep=ctx.run_id)
                holder = runs.try_claim(con, me)
                if holder is None:
                    runs.mark_running(ctx.database, me)
                    load.sync_feeds(con, ctx.sources)
                    if abandoned:
                        runs.record(con, ctx.run_id, repaired=len(abandoned))
                    return Prepared(load.feed_states(con), [r["run_id"] for r in abandoned])
            finally:
                con.close()  # never held while waiting: the other run needs the file
        if time.monotonic() >= deadline:
            raise runs.RunBusy(
                f"warehouse {ctx.database} is in use by run {runs.describe(holder)}; "
                f"waited {wait:g}s (run_wait_seconds)"
            )
        if on_wait is not None and not announced:
            on_wait(f"waiting for run {runs.describe(holder)} to finish (up to {wait:g}s)")
            announced = True
        time.sleep(min(2.0, max(0.0, deadline - time.monotonic())) * random.uniform(0.5, 1.0) + 0.05)


def release(ctx: RunContext) -> None:
    """The run's process is done with the warehouse: remove its marker (see ``warehouse.runs``)."""
    from warehouse.runs import unmark_running

    try:
        unmark_running(ctx.database, ctx.run_id)
    except OSError:  # a marker that cannot be removed names a process that is gone: it is ignored
        pass


def fetch_feeds(ctx: RunContext, states: dict[str, FeedState], client: HttpClient) -> list[FeedResult]:
    """Fetch and parse every enabled feed of the run (a failing feed is a result)."""
    from ingest.feeds import fetch_feeds as fetch

    return fetch(client, ctx.sources, states, ctx.settings.workers, ctx.progress, ctx.settings.feed)


@dataclass
class Planned:
    entries: dict[str, Entry]  # by canonical URL: the pages to fetch this run
    deferred: dict[str, int] = field(default_factory=dict)  # per feed: new entries left for a later run
    refetching: set[str] = field(default_factory=set)  # of entries: stored articles' failed pages, again


def plan_pages(ctx: RunContext, results: Sequence[FeedResult]) -> Planned:
    """The entries (by canonical URL) whose page is to be fetched: those not stored yet, at most
    ``feed.max_entries`` per feed in the feed's order (the rest are deferred, not dropped: the
    load keeps such a feed's validators, so the next run reads it again and goes on), and the
    stored articles whose failed page is due to be fetched again."""
    from transform.articles import unique_entries
    from warehouse.load import due_for_refetch, known_urls

    by_url = unique_entries(e for r in results for e in r.entries)
    now = datetime.now(UTC)
    with one_step(ctx.progress, "plan"), warehouse(ctx) as con:
        known = known_urls(con, by_url)
        due = due_for_refetch(con, now)
    cap = ctx.settings.feed.max_entries
    planned: dict[str, Entry] = {}
    taken: dict[str, int] = {}
    deferred: dict[str, int] = {}
    for url, entry in by_url.items():
        if url in known:
            continue
        if taken.get(entry.feed, 0) < cap:
            planned[url] = entry
            taken[entry.feed] = taken.get(entry.feed, 0) + 1
        else:
            deferred[entry.feed] = deferred.get(entry.feed, 0) + 1
    refetching = set()
    for url, entry in due.items():
        if url not in planned:
            planned[url] = entry
            refetching.add(url)
    return Planned(planned, deferred, refetching)


def fetch_pages(
    ctx: RunContext, entries: dict[str, Entry], client: HttpClient,
    on_extracted: Callable[[dict[str, Extraction]], None] | None = None,
    tagger: Tagger | None = None, refetching: set[str] = frozenset(), early: dict[str, Early] | None = None,
    events: SupplyEventExtractor | None = None,
) -> dict[str, Extraction]:
    """Fetch and extract the planned pages; each feed's crawl_delay applies to its pages' hosts.

    With ``tagger`` and ``early``, the extraction worker that extracted a page also builds its
    article and tags it (on every core, while other pages download), into ``early`` by canonical
    URL before the page is handed to ``on_extracted``: the builder and the tag step take them
    from there (see ``transform.early_tags``); with ``events``, new axis articles are read for
    supply events there too; every new article's story signature is made there as well (the
    cluster step takes it)."""
    from ingest.pages import fetch_articles
    from transform.early_tags import TagOnExtract

    derive = (TagOnExtract(entries, tagger, refetching, events, ctx.settings.clusters)
              if tagger is not None and early is not None else None)
    return fetch_articles(client, entries, ctx.settings.workers, ctx.progress, ctx.settings.extraction,
                          sources=ctx.sources, on_extracted=on_extracted, derive=derive, derived=early)


@dataclass
class LoadResult:
    articles_new: int = 0
    duplicates: int = 0
    pages_failed: int = 0
    feeds_ok: int = 0
    feeds_failed: int = 0
    entries_seen: int = 0
    errors: list[dict] = field(default_factory=list)
    pages_refetched: int = 0  # stored articles whose failed page was fetched again
    pages_recovered: int = 0  # ...and came back with text


def load(
    ctx: RunContext,
    results: Sequence[FeedResult],
    entries: dict[str, Entry],
    pages: dict[str, Extraction],
    extra_errors: Sequence[dict] = (),
    feeds_missing: int = 0,
    built: ArticleBuilder | None = None,
    deferred: dict[str, int] | None = None,
) -> LoadResult:
    """Join entries and pages into articles, drop exact copies, and load it all in one
    transaction; the run becomes ``loaded``.

    ``feeds_missing`` counts planned feeds whose fetch left no result (an Airflow task that died).
    ``built`` has the articles of some pages built already (the command line builds them as pages
    arrive); the rest are built here. ``deferred`` (from ``plan_pages``) counts each feed's new
    entries left for a later run: those feeds keep their validators, and the run's errors say so."""
    from transform.articles import split_exact_duplicates
    from warehouse.load import RunRecord, known_hashes, load_pass, stored_ids
    from warehouse.rows import ArticleBuilder

    ctx.progress("build", 0, len(entries))
    built = built or ArticleBuilder(entries)
    built.add(pages)  # the pages not built yet
    built.rows.convert()  # the last partial chunk: building rows is not the load's work
    ctx.progress("build", len(entries), len(entries))
    run = RunRecord(run_id=ctx.run_id, started_at=ctx.started_at, status="loaded")
    run.feeds_ok = sum(r.ok for r in results)
    run.feeds_failed = len(results) - run.feeds_ok + feeds_missing
    run.entries_seen = sum(len(r.entries) for r in results)
    deferral_errors = defer_entries(results, deferred or {}, ctx.settings.feed.max_entries)
    with warehouse(ctx) as con:
        with one_step(ctx.progress, "dedup"):  # exact copies of what is stored or of each other
            again = stored_ids(con, built.articles_by_id())  # failed pages fetched again: updates, not copies
            fresh = [a for a in built.in_entry_order() if a.id not in again]
            refetched = [a for a in built.in_entry_order() if a.id in again]
            articles, duplicates = split_exact_duplicates(fresh, known_hashes(con, (a.content_hash for a in fresh)))
        run.errors = (feed_errors(results) + deferral_errors + page_errors(articles) + page_errors(refetched)
                      + list(extra_errors))
        run.pages_failed = sum(a.fetch_status != "ok" for a in [*articles, *refetched])
        run.finished_at = datetime.now(UTC)
        ctx.progress("load", 0, len(articles))
        load_pass(con, run, results, articles, duplicates, run.finished_at, prebuilt=built.rows,
                  refetched=refetched, retry=ctx.settings.pages)
        ctx.progress("load", len(articles), len(articles))
    return LoadResult(run.articles_new, run.duplicates, run.pages_failed, run.feeds_ok, run.feeds_failed,
                      run.entries_seen, run.errors, len(refetched), sum(a.fetch_status == "ok" for a in refetched))


def defer_entries(results: Sequence[FeedResult], deferred: dict[str, int], cap: int) -> list[dict]:
    """Mark each feed's deferred entries on its result (its validators stay) and say so."""
    errors = []
    for result in results:
        count = deferred.get(result.source.name, 0)
        result.defer(count)
        if count:
            errors.append({"feed": result.source.name, "url": result.source.url, "kind": "entries_deferred",
                           "message": f"{count} new entries beyond feed.max_entries ({cap}) left for the next run"})
    return errors


def feed_errors(results: Sequence[FeedResult]) -> list[dict]:
    return [
        {"feed": r.source.name, "url": r.source.url, "kind": r.error_kind, "message": r.error}
        for r in results
        if not r.ok
    ]


def page_errors(articles: Sequence) -> list[dict]:
    """One error per article kept without page text; kind says whether fetching or extraction failed."""
    from ingest.http import FETCH_ERROR_KINDS

    fetch_kinds = FETCH_ERROR_KINDS | {"robots"}  # a page skipped by robots.txt was never fetched
    errors = []
    for a in articles:
        if a.fetch_status == "ok":
            continue
        prefix = a.fetch_error.split(":", 1)[0]
        kind = f"page_{prefix}" if prefix in fetch_kinds else "page_extraction"
        errors.append({"feed": a.feed, "url": a.url, "kind": kind, "message": a.fetch_error})
    return errors


def tag(ctx: RunContext, tagger: Tagger, pretagged: dict[str, Tag] | None = None) -> TagSummary:
    """Tag every stored article without a tag from this tagger version (this run's, and any a
    dead run left untagged); ``pretagged`` has tags made while the pages were extracted."""
    from warehouse.runs import record
    from warehouse.tags import tag_stored

    with warehouse(ctx) as con:
        summary = tag_stored(con, tagger, progress=ctx.progress, pretagged=pretagged)
        record(con, ctx.run_id, tagged=summary.articles, axis_new=summary.axis)
    return summary


def cluster(ctx: RunContext, supply_events: tuple[SupplyEventExtractor, dict] | None = None,
            presigned: Mapping[str, Signature] | None = None) -> ClusterSummary:
    """Give every stored article without a story one (this run's, and any a dead run left), and
    read the axis stories' copies for supply events (``supply_events``: the extractor and what it
    read already, by article id; ``presigned``: story signatures made already, by article id)."""
    from warehouse.clusters import cluster_unclustered
    from warehouse.runs import record

    # Events are linked with the topics the tagger read (settings.topics_file); a caller that
    # handed run_pass its own tagger from elsewhere (a relative default that does not resolve
    # here) gets the shipped topics, as its tagger most likely did.
    topics = ctx.settings.topics_file if Path(ctx.settings.topics_file).is_file() else None
    with warehouse(ctx) as con:
        summary = cluster_unclustered(con, ctx.settings.clusters, ctx.run_id, ctx.progress, topics_file=topics,
                                      supply_events=supply_events, presigned=presigned)
        record(con, ctx.run_id, clustered=summary.articles, stories_new=summary.stories_new,
               axis_stories_new=summary.axis_stories_new)
    return summary


class Indexing:
    """The search index refreshed on a thread of its own while the run tags and clusters.

    The index reads only the articles, which are final once the load has committed; DuckDB
    builds it in C++ without holding the interpreter lock, so it uses the core that clustering's
    Python leaves idle. ``publish`` waits for it (and raises what it raised) instead of
    refreshing the index itself. The command line's overlap: each Airflow task stays one step."""

    def __init__(self, ctx: RunContext) -> None:
        self._ctx = ctx
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._refresh, name="search-index", daemon=True)
        self._thread.start()

    def _refresh(self) -> None:
        from warehouse.search import refresh_index

        try:
            with warehouse(self._ctx) as con:
                refresh_index(con, settings=self._ctx.settings.search)
        except BaseException as exc:  # noqa: BLE001 - handed to whoever waits for the index
            self._error = exc

    def wait(self) -> None:
        """Until the index is refreshed; its failure is raised here."""
        self._thread.join()
        if self._error is not None:
            raise self._error

    def wait_quietly(self) -> None:
        """Until the thread is done, its outcome ignored (the run is failing for another reason)."""
        self._thread.join()


def start_indexing(ctx: RunContext, loaded: LoadResult) -> Indexing | None:
    """Refresh the search index in the background if the load changed the articles."""
    changed = loaded.articles_new or loaded.duplicates or loaded.pages_recovered
    return Indexing(ctx) if changed else None


@dataclass
class Published:
    report: str
    snapshot: str
    stored: bool


def publish(ctx: RunContext, indexing: Indexing | None = None) -> Published:
    """Close the run: refresh the search index and the analysts' snapshot when the run changed
    anything (``warehouse.runs.stored_anything``, the one rule), mark it finished, and write its
    report. ``indexing``: the index is being refreshed already (``start_indexing``); the report,
    which reads no index, is rendered meanwhile on the core the index leaves, and saved once the
    run is published (a run that fails here leaves no report)."""
    from warehouse import runs
    from warehouse.load import run_row
    from warehouse.report import publish_run_report, render_run_report, save_run_report
    from warehouse.search import refresh_index
    from warehouse.snapshot import publish_snapshot, snapshot_exists

    html = None
    if indexing is not None:
        with one_step(ctx.progress, "report"), warehouse(ctx) as con:
            html = render_run_report(con, ctx.run_id, ctx.started_at)
        with one_step(ctx.progress, "index"):
            indexing.wait()
    with one_step(ctx.progress, "publish"), warehouse(ctx) as con:
        row = run_row(con, ctx.run_id) or {}
        stored = runs.stored_anything(row)
        if stored and indexing is None:
            refresh_index(con, settings=ctx.settings.search)
        runs.mark_finished(con, ctx.run_id, datetime.now(UTC))
        # A quiet night leaves the snapshot as it is: copying a large warehouse for a fetch log
        # is most of such a night.
        snapshot = publish_snapshot(ctx.database, con) if stored or not snapshot_exists(ctx.database) else ctx.database
    if html is not None:
        report = save_run_report(html, ctx.report_dir(), ctx.run_id)
    else:
        with one_step(ctx.progress, "report"):
            report = publish_run_report(snapshot, ctx.report_dir(), ctx.run_id, ctx.started_at)
    return Published(str(report), str(snapshot), stored)


def alert(ctx: RunContext) -> AlertSummary:
    """Queue and deliver alerts for the stories this run made or grew (the outbox keeps the rest)."""
    from alerts.outbox import deliver

    with one_step(ctx.progress, "alerts"):
        return deliver(ctx.database, ctx.settings.alerts, ctx.run_id, ctx.http)


def fail(ctx: RunContext, reason: str) -> None:
    """Mark the run failed with one line of why (best effort: the warehouse may be what failed)."""
    from warehouse.runs import mark_failed

    try:
        with warehouse(ctx) as con:
            mark_failed(con, ctx.run_id, reason, datetime.now(UTC))
    except Exception:  # noqa: BLE001 - a damaged or locked file must not hide the error being reported
        pass
