"""``run_pass``: one whole run in one process, the steps of ``axiswatch.steps`` in order.

This is the command line's wiring and nothing else: what each step does lives in the step (and
below it, in the stages); the Airflow DAG calls the same steps one per task.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from alerts.config import AlertsConfig
from axiswatch import steps
from axiswatch.collection import fewer_collections
from axiswatch.config import Settings
from ingest.http import HttpClient, HttpSettings
from ingest.progress import Progress, no_progress
from ingest.records import FeedSource, FeedState
from transform.clusters import ClusterSettings
from transform.supply_events import SupplyEventExtractor
from transform.tagging import Tagger
from warehouse.clusters import ClusterSummary
from warehouse.rows import ArticleBuilder
from warehouse.tags import TagSummary, tag_stored


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
    status: str = "running"
    abandoned_runs: list[str] = field(default_factory=list)  # dead runs found and repaired by this one
    pages_refetched: int = 0  # stored articles whose failed page was fetched again
    pages_recovered: int = 0  # ...and came back with text
    failure: str = ""  # status "failed": the one line of why (also in `axiswatch runs`)
    cause: str = ""  # ...and its kind: corrupt, truncated, permission, disk full, locked, busy, error

    def as_json(self) -> dict:
        return asdict(self)


def new_run_id(now: datetime) -> str:
    return f"run-{now:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:6]}"


@fewer_collections()
def run_pass(
    sources: Sequence[FeedSource],
    db: str | Path,
    http: HttpSettings,
    tagger: Tagger,
    workers: int | None = None,
    progress: Progress = no_progress,
    cluster_settings: ClusterSettings | None = None,
    reports_dir: str | Path | None = None,
    alerts_config: AlertsConfig | None = None,
    run_wait: float | None = None,
    stale_after: timedelta | None = None,
    on_wait: Callable[[str], None] | None = None,
    settings: Settings | None = None,
) -> RunSummary:
    """One full run: feeds -> pages -> canonical URLs and exact dedup -> DuckDB -> tags ->
    stories -> snapshot and report -> alerts. A failing step marks the run failed and is raised.

    ``settings`` (default: the defaults, with any ``AXISWATCH_*`` environment overrides) gives
    every limit; the other keyword arguments override single settings. ``db`` and ``http`` are
    the caller's (resolved from flags and settings). The garbage collector runs less often
    meanwhile (see ``axiswatch.collection``)."""
    settings = _with_overrides(settings or Settings(), workers=workers, clusters=cluster_settings,
                               alerts=alerts_config, run_wait_seconds=run_wait,
                               deadline_minutes=None if stale_after is None else stale_after.total_seconds() / 60)
    started = datetime.now(UTC)
    ctx = steps.RunContext(
        run_id=new_run_id(started), started_at=started, database=str(db), sources=sources, http=http,
        settings=settings, reports_dir=reports_dir, progress=progress,
    )
    from warehouse.db import configure

    configure(settings.warehouse)
    done: dict = {}  # what the steps returned so far: a failed run's summary still reports it
    try:
        prepared = done["prepared"] = steps.prepare(ctx, on_wait)  # a refused file or RunBusy: nothing to mark
    except BaseException as exc:
        steps.release(ctx)
        exc.summary = _summary(ctx, db, done, exc)
        raise
    indexing = None
    try:
        with HttpClient(http) as client:
            results = steps.fetch_feeds(ctx, prepared.states, client)
            planned = steps.plan_pages(ctx, results)
            early: dict = {}  # articles built and tagged where their pages were extracted
            built = ArticleBuilder(planned.entries, early)
            events = SupplyEventExtractor.from_file()
            pages = steps.fetch_pages(ctx, planned.entries, client, on_extracted=built.add, tagger=tagger,
                                      refetching=planned.refetching, early=early, events=events)
        done["loaded"] = steps.load(ctx, results, planned.entries, pages, built=built, deferred=planned.deferred)
        indexing = steps.start_indexing(ctx, done["loaded"])  # beside tagging and clustering
        done["tags"] = steps.tag(ctx, tagger, pretagged={e.tag.id: e.tag for e in early.values() if e.tag})
        preread = {e.article.id: e.events for e in early.values() if e.events is not None}
        presigned = {e.article.id: e.signature for e in early.values() if e.signature is not None}
        done["stories"] = steps.cluster(ctx, (events, preread), presigned)
        done["published"] = steps.publish(ctx, indexing)
        done["alerts"] = steps.alert(ctx)
    except BaseException as exc:
        if indexing is not None:
            indexing.wait_quietly()  # its connection closed before the run is marked failed
        steps.fail(ctx, f"{type(exc).__name__}: {exc}".splitlines()[0])
        exc.summary = _summary(ctx, db, done, exc)
        raise
    finally:
        steps.release(ctx)
    return _summary(ctx, db, done)


def _summary(ctx: steps.RunContext, db: str | Path, done: dict, failed: BaseException | None = None) -> RunSummary:
    """The run's summary from what its steps returned (``failed``: why the rest did not run)."""
    summary = RunSummary(run_id=ctx.run_id, database=str(db), status="finished" if failed is None else "failed")
    if failed is not None:
        summary.failure = " ".join(str(failed).split()) or type(failed).__name__
        summary.cause = getattr(failed, "cause", None) or ("interrupted" if isinstance(failed, KeyboardInterrupt) else "error")
    if "prepared" in done:
        summary.abandoned_runs = done["prepared"].abandoned
    if "loaded" in done:
        loaded = done["loaded"]
        summary.feeds_ok, summary.feeds_failed, summary.entries_seen = loaded.feeds_ok, loaded.feeds_failed, loaded.entries_seen
        summary.articles_new, summary.duplicates, summary.errors = loaded.articles_new, loaded.duplicates, loaded.errors
        summary.pages_failed = loaded.pages_failed
        summary.pages_refetched, summary.pages_recovered = loaded.pages_refetched, loaded.pages_recovered
    if "tags" in done:
        summary.axis_new = done["tags"].axis
    if "stories" in done:
        summary.stories_new, summary.axis_stories_new = done["stories"].stories_new, done["stories"].axis_stories_new
    if "published" in done:
        summary.report = done["published"].report
    if "alerts" in done:
        summary.alerts_sent, summary.alerts_failed = done["alerts"].sent, done["alerts"].failed
    return summary


def _with_overrides(settings: Settings, **values) -> Settings:
    """``settings`` with the given values in place of its own (None: keep the setting)."""
    given = {name: value for name, value in values.items() if value is not None}
    return settings.model_copy(update=given) if given else settings


def retag(db: str | Path, tagger: Tagger, since: datetime | None = None, progress: Progress = no_progress,
          batch_size: int = 5000) -> TagSummary:
    """Re-apply the current tagger to stored articles; older versions' rows stay for comparison."""
    from warehouse.db import open_warehouse

    con = open_warehouse(db)
    try:
        return tag_stored(con, tagger, since, only_untagged=False, progress=progress, batch_size=batch_size)
    finally:
        con.close()


def prepare_warehouse(db: str | Path, sources: Sequence[FeedSource]) -> dict[str, FeedState]:
    """Migrate, record the configured feeds, and return their conditional-GET state (for tools
    that load outside a run, such as the benchmarks' replays)."""
    from warehouse import load
    from warehouse.db import open_warehouse

    con = open_warehouse(db)
    try:
        load.sync_feeds(con, sources)
        return load.feed_states(con)
    finally:
        con.close()


def cluster_new_articles(db: str | Path, settings: ClusterSettings | None = None, run_id: str | None = None,
                         progress: Progress = no_progress) -> ClusterSummary:
    """Cluster whatever is unclustered, outside a run (tools and tests)."""
    from warehouse.clusters import cluster_unclustered
    from warehouse.db import open_warehouse

    con = open_warehouse(db)
    try:
        return cluster_unclustered(con, settings, run_id, progress)
    finally:
        con.close()
