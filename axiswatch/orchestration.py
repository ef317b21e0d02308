"""The nightly run as Airflow runs it: one function per task, each calling exactly one step of
``axiswatch.steps`` (the steps ``axiswatch run`` calls in one process), with small JSON values
in and out (each under 1 KB) and bulk data in the run's staging folder.

This module imports only what every task needs (settings, staging); each task imports its own
step's modules when it runs, so the mapped fetch tasks do not each load the clustering
libraries and DuckDB. Feeds and pages go to the mapped tasks in batches (``feed_batch_size``,
``article_batch_size``): every Airflow task costs seconds of scheduling and process start.

Failure policy: a broken feed or page is data (recorded, reported, the run goes on); a bad
config or parameter is permanent (``ConfigError``: fail fast in the first task, no retries); a
missing plan means the first task failed (``PlanMissing``: the task is skipped, not failed again);
an unavailable or busy warehouse is transient (``WarehouseError``: retried with backoff).
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path
from typing import TypedDict

from axiswatch import staging
from axiswatch.collection import fewer_collections
from axiswatch.config import ConfigError, Settings, load_feeds, load_settings
from ingest.records import Extraction, FeedResult, FeedSource, FeedState
from ingest.text import safe_name

ERROR_CHARS = 200  # an error message in an XCom is cut here; the full one is in the warehouse


class PlanMissing(RuntimeError):
    """The run has no plan: its first task failed, and later tasks have nothing to do."""


def home() -> Path:
    """Where relative paths in the settings start: AXISWATCH_HOME, else the project folder."""
    return Path(os.environ.get("AXISWATCH_HOME") or Path(__file__).resolve().parent.parent)


def settings_for(config: str | None) -> Settings:
    """Settings for a task, with every path made absolute against ``home()``.

    Airflow workers do not start in the project folder, so relative paths must not depend on
    the working directory."""
    from warehouse.location import Location

    base = home()
    path = None
    if config:
        path = Path(config) if Path(config).is_absolute() else base / config
        if not path.exists():
            raise ConfigError(f"{path}: settings file not found")
    settings = load_settings(path)
    fields = ("feeds_file", "topics_file", "staging_dir", "backups_dir", "export_dir", "reports_dir")
    update = {f: str(base / getattr(settings, f)) for f in fields}
    update["database"] = str(Location.parse(settings.database).absolute(base))
    return settings.model_copy(update=update)


def run_folder(settings: Settings, run_id: str) -> Path:
    return staging.run_folder(settings.staging_dir, run_id)


def parse_since(since: str | None) -> datetime | None:
    """The ``retag_since`` parameter as a UTC time; a ``ConfigError`` when it is not an ISO date."""
    if not since:
        return None
    try:
        start = datetime.fromisoformat(since)
    except ValueError:
        raise ConfigError(f"retag_since {since!r}: not an ISO date (e.g. 2026-11-01)") from None
    return start if start.tzinfo else start.replace(tzinfo=UTC)


def _tagger(settings: Settings):
    from transform.tagging import Tagger, TopicsError

    try:
        return Tagger.from_file(settings.topics_file)
    except TopicsError as exc:
        raise ConfigError(str(exc)) from None


def _context(settings: Settings, run_id: str, plan: dict | None = None):
    """The step context of this Airflow run (its sources and start come from the plan)."""
    from axiswatch.steps import RunContext
    from warehouse.db import configure

    configure(settings.warehouse)  # lock wait and verification for this task's process
    started = datetime.fromisoformat(plan["started_at"]) if plan else datetime.now(UTC)
    sources = [FeedSource(**s) for s in plan["sources"]] if plan else []
    return RunContext(
        run_id=run_id, started_at=started, database=settings.database, sources=sources,
        http=settings.http.settings(), settings=settings, orchestrator="airflow", reports_dir=settings.reports_dir,
    )


def batches(count: int, size: int) -> list[range]:
    """``count`` items in as few batches of at most ``size`` as possible, their sizes differing
    by one at most (318 pages in batches of up to 250 are two of 159, not 250 and 68: the two
    mapped tasks finish together)."""
    if count <= 0:
        return []
    n = -(-count // size)
    bounds = [count * i // n for i in range(n + 1)]
    return [range(bounds[i], bounds[i + 1]) for i in range(n)]


def prepare(config: str | None, run_id: str, feeds_file: str | None = None,
            retag: bool = False, retag_since: str | None = None) -> list[int]:
    """Validate the settings, feeds, topics and the run's parameters before anything is written,
    then run the prepare step (migrate, claim the warehouse) and write the run's plan, with the
    feeds split into batches of at most ``feed_batch_size``; return the batch numbers (the
    mapped feed tasks' only argument: the XCom stays a few bytes however many feeds there are)."""
    from axiswatch import steps

    settings = settings_for(config)
    feeds_path = str(home() / feeds_file) if feeds_file else settings.feeds_file
    sources = [s for s in load_feeds(feeds_path) if s.enabled]
    _tagger(settings)
    parse_since(retag_since)  # a bad date fails here, before anything is written
    plan = {"run_id": run_id, "started_at": datetime.now(UTC).isoformat(), "sources": [asdict(s) for s in sources]}
    prepared = steps.prepare(_context(settings, run_id, plan))
    plan["states"] = {s.name: asdict(prepared.states.get(s.name, FeedState())) for s in sources}
    plan["feed_batches"] = [[sources[i].name for i in part]
                            for part in batches(len(sources), settings.feed_batch_size)]
    staging.write_json(run_folder(settings, run_id) / "plan.json", plan)
    return list(range(len(plan["feed_batches"])))


def _plan(folder: Path) -> dict:
    path = folder / "plan.json"
    if not path.exists():
        raise PlanMissing(f"{path}: no plan for this run (its 'prepare' task failed or was cleared alone)")
    return staging.read_json(path)


def _feed_file(folder: Path, name: str) -> Path:
    return folder / "feeds" / f"{safe_name(name)}.json"


class FeedBatchFetched(TypedDict):
    batch: int
    feeds: int
    ok: int
    failed: int
    entries: int
    errors: dict[str, str]  # feed -> "kind: message", the first few, cut to stay under 1 KB
    more_errors: int  # failed feeds left out of ``errors`` (all of them are in the warehouse)


ERRORS_IN_XCOM = 600  # characters of per-feed errors a batch's XCom carries; the log has every one


@fewer_collections()  # as in ``axiswatch run``: the night's heap grows, and rarely forms cycles
def fetch_feed_batch(config: str | None, run_id: str, batch: int) -> FeedBatchFetched:
    """Fetch and parse one batch of the plan's feeds concurrently (the fetch-feeds step, as
    ``axiswatch run`` does for all of them) into the staging folder, one file per feed.

    A failing feed is a result (its error staged like any other, recorded by the load), never a
    failed batch. Feeds staged by an earlier try of this task (a worker killed mid-batch) are not
    fetched again. Every failure is logged, one line per feed, for ops reading the task's log."""
    import logging

    from axiswatch import steps
    from ingest.http import HttpClient

    log = logging.getLogger("axiswatch.fetch_feeds")
    settings = settings_for(config)
    folder = run_folder(settings, run_id)
    plan = _plan(folder)
    try:
        names = plan["feed_batches"][batch]
    except (KeyError, IndexError):
        raise PlanMissing(f"{folder / 'plan.json'}: no feed batch {batch} in this run's plan") from None
    wanted = set(names)
    results: dict[str, FeedResult] = {}
    for source in plan["sources"]:
        path = _feed_file(folder, source["name"])
        if source["name"] in wanted and path.exists():  # staged by an earlier try of this task
            results[source["name"]] = staging.feed_result_from_dict(staging.read_json(path))
    todo = [s for s in plan["sources"] if s["name"] in wanted and s["name"] not in results]
    if todo:
        ctx = _context(settings, run_id, {**plan, "sources": todo})
        states = {s["name"]: FeedState(**plan["states"].get(s["name"], {})) for s in todo}
        with HttpClient(ctx.http) as client:
            for result in steps.fetch_feeds(ctx, states, client):
                staging.write_json(_feed_file(folder, result.source.name), staging.feed_result_to_dict(result))
                results[result.source.name] = result
    out: FeedBatchFetched = {"batch": batch, "feeds": len(names), "ok": 0, "failed": 0, "entries": 0,
                             "errors": {}, "more_errors": 0}
    room = ERRORS_IN_XCOM
    for name in names:
        result = results[name]
        out["entries"] += len(result.entries)
        if result.status != "error":
            out["ok"] += 1
            continue
        out["failed"] += 1
        log.warning("feed %s failed (%s): %s", name, result.error_kind, result.error)
        line = f"{result.error_kind}: {result.error}"[:ERROR_CHARS]
        cost = len(json.dumps({name: line})) + 2  # as the XCom stores it, escapes included
        if cost <= room:
            out["errors"][name] = line
            room -= cost
        else:
            out["more_errors"] += 1
    return out


def _staged_results(folder: Path, plan: dict) -> tuple[list[FeedResult], list[dict]]:
    """Feed results on disk, plus an error for each planned feed whose task left nothing."""
    results, missing = [], []
    for source in plan["sources"]:
        path = _feed_file(folder, source["name"])
        if path.exists():
            results.append(staging.feed_result_from_dict(staging.read_json(path)))
        else:
            missing.append({"feed": source["name"], "url": source["url"], "kind": "task",
                            "message": "fetch task did not finish; see its log"})
    return results, missing


def plan_pages(config: str | None, run_id: str) -> list[str]:
    """Run the plan-pages step and split the new article URLs into staged batches for the
    mapped page-fetch tasks; return the batch files, relative to ``staging_dir``."""
    from axiswatch import steps

    settings = settings_for(config)
    folder = run_folder(settings, run_id)
    plan = _plan(folder)
    results, _ = _staged_results(folder, plan)
    planned = steps.plan_pages(_context(settings, run_id, plan), results)
    staging.write_json(folder / "deferred.json", planned.deferred)
    # Stored articles' failed pages fetched again keep their stored summary: not tagged early.
    staging.write_json(folder / "refetching.json", sorted(planned.refetching))
    items = list(planned.entries.items())
    paths = []
    for n, part in enumerate(batches(len(items), settings.article_batch_size)):
        batch = {url: staging.entry_to_dict(e) for url, e in items[part.start : part.stop]}
        written = staging.write_json(folder / "batches" / f"{n:05d}.json", batch)
        # Relative to staging_dir: a worker on another machine may mount the volume elsewhere.
        paths.append(written.relative_to(settings.staging_dir).as_posix())
    return paths


class BatchFetched(TypedDict):
    batch: str
    pages: int
    failed: int


# What the page tasks' extraction workers make of new articles for the later tasks (``_early``).
EARLY_KINDS = ("hashes", "tags", "events", "signatures")


@fewer_collections()
def fetch_page_batch(config: str | None, batch_path: str) -> BatchFetched:
    """Run the fetch-pages step on one staged batch (with the run's feeds, so each feed's
    crawl_delay applies to its pages' hosts exactly as on the command line).

    As on the command line, the extraction workers also build, tag and read for supply events
    each new article (``transform.early_tags``) while other pages download: the tags and events
    are staged beside the pages, and the tag and cluster tasks store them instead of reading
    every article back on the one writer."""
    from axiswatch import steps
    from ingest.http import HttpClient
    from transform.supply_events import SupplyEventExtractor

    settings = settings_for(config)
    batch = Path(settings.staging_dir) / batch_path  # an absolute path (older plans) stays as it is
    folder = batch.parent.parent
    plan = _plan(folder)
    ctx = _context(settings, plan["run_id"], plan)
    entries = {url: staging.entry_from_dict(e) for url, e in staging.read_json(batch).items()}
    refetching_file = folder / "refetching.json"
    refetching = set(staging.read_json(refetching_file)) if refetching_file.exists() else set()
    early: dict = {}
    # An earlier attempt's early files go before this attempt's pages are staged: whatever kills
    # this task between the writes leaves pages with some or nothing made early (the rest is
    # then made late: hashed by the load, tagged and signed by their tasks), never anything made
    # of another attempt's pages.
    for kind in EARLY_KINDS:
        (folder / "early" / kind / batch.name).unlink(missing_ok=True)
    with HttpClient(ctx.http) as client:
        pages = steps.fetch_pages(ctx, entries, client, tagger=_tagger(settings), refetching=refetching,
                                  early=early, events=SupplyEventExtractor.from_file())
    staging.write_json(folder / "pages" / batch.name, {url: asdict(p) for url, p in pages.items()})
    made = {
        # Content hashes by canonical URL: the load builds these articles without normalizing
        # their text again (on the one writer, after the last page).
        "hashes": {url: e.article.content_hash for url, e in early.items()},
        "tags": {e.tag.id: asdict(e.tag) for e in early.values() if e.tag},
        "events": {e.article.id: [asdict(v) for v in e.events] for e in early.values() if e.events is not None},
        "signatures": {e.article.id: staging.signature_to_dict(e.signature) for e in early.values()
                       if e.signature is not None},
    }
    for kind in EARLY_KINDS:  # a file per kind: each later task reads only what it takes
        staging.write_json(folder / "early" / kind / batch.name, made[kind])
    return {"batch": batch.name, "pages": len(pages), "failed": sum(bool(p.reason) for p in pages.values())}


def _early(folder: Path, *kinds: str) -> dict[str, dict]:
    """What the page tasks' extraction workers made early, by kind ("tags", "events" and
    "signatures" by article id; "hashes" by canonical URL). Only batches whose pages the load
    read count; a batch without a kind's file (its task died after staging the pages) has that
    kind made late, as a dead run's articles have. A run staged before the kinds had files of
    their own has one file per batch with every kind in it (and no hashes)."""
    made: dict[str, dict] = {kind: {} for kind in kinds}
    for path in sorted((folder / "early").glob("*.json")):  # the one-file-per-batch layout
        if (folder / "pages" / path.name).exists():
            staged = staging.read_json(path)
            for kind in kinds:
                made[kind].update(staged.get(kind, {}))
    for kind in kinds:
        for path in sorted((folder / "early" / kind).glob("*.json")):
            if (folder / "pages" / path.name).exists():
                made[kind].update(staging.read_json(path))
    return made


class Loaded(TypedDict):
    run_id: str
    already_loaded: bool
    feeds_ok: int
    feeds_failed: int
    entries_seen: int
    articles_new: int
    duplicates: int
    pages_failed: int
    pages_recovered: int  # stored articles whose failed page came back with text
    errors: int  # how many; the errors themselves are in pipeline_runs.errors


def load_run(config: str | None, run_id: str) -> Loaded:
    """Run the load step on everything staged for the run; a second call for the same run is a no-op."""
    from axiswatch import steps
    from warehouse.load import run_row
    from warehouse.rows import ArticleBuilder
    from warehouse.runs import DONE

    settings = settings_for(config)
    folder = run_folder(settings, run_id)
    plan = _plan(folder)
    ctx = _context(settings, run_id, plan)
    with steps.warehouse(ctx) as con:
        existing = run_row(con, run_id)
    if existing and existing["status"] in DONE:
        return {"run_id": run_id, "already_loaded": True, "feeds_ok": existing["feeds_ok"] or 0,
                "feeds_failed": existing["feeds_failed"] or 0, "entries_seen": existing["entries_seen"] or 0,
                "articles_new": 0, "duplicates": 0, "pages_failed": 0, "pages_recovered": 0,
                "errors": len(json.loads(existing["errors"] or "[]"))}
    results, missing = _staged_results(folder, plan)
    entries, pages = {}, {}
    for batch in sorted((folder / "batches").glob("*.json")):
        for url, data in staging.read_json(batch).items():
            entries[url] = staging.entry_from_dict(data)
        page_file = folder / "pages" / batch.name
        staged = staging.read_json(page_file) if page_file.exists() else {}
        for url in staging.read_json(batch):
            pages[url] = staging.extraction_from_dict(staged[url]) if url in staged else Extraction(
                source=url, reason="page task did not finish; see its log")
    deferred_file = folder / "deferred.json"
    deferred = staging.read_json(deferred_file) if deferred_file.exists() else {}
    built = ArticleBuilder(entries, hashes=_early(folder, "hashes")["hashes"])
    loaded = steps.load(ctx, results, entries, pages, missing, len(missing), built=built, deferred=deferred)
    return {"run_id": run_id, "already_loaded": False, "feeds_ok": loaded.feeds_ok,
            "feeds_failed": loaded.feeds_failed, "entries_seen": loaded.entries_seen,
            "articles_new": loaded.articles_new, "duplicates": loaded.duplicates,
            "pages_failed": loaded.pages_failed, "pages_recovered": loaded.pages_recovered,
            "errors": len(loaded.errors)}


class Tagged(TypedDict):
    tagger_version: str
    tagged: int
    axis_new: int
    retagged: int
    retag_changed: int


def tag_run(config: str | None, run_id: str, retag: bool = False, retag_since: str | None = None) -> Tagged:
    """Run the tag step (and, when the run's ``retag`` parameter asks, re-apply the tagger to the
    stored articles since ``retag_since``, checked already by ``prepare``)."""
    from axiswatch import steps
    from transform.tagging import Tag
    from warehouse.tags import tag_stored

    settings = settings_for(config)
    folder = run_folder(settings, run_id)
    ctx = _context(settings, run_id, _plan(folder))
    tagger = _tagger(settings)
    # Tags the page tasks made where the pages were extracted (only those of this tagger
    # version are taken; the rest are made here).
    pretagged = {i: Tag(**t) for i, t in _early(folder, "tags")["tags"].items()}
    tags = steps.tag(ctx, tagger, pretagged=pretagged)
    result: Tagged = {"tagger_version": tags.tagger_version, "tagged": tags.articles, "axis_new": tags.axis,
                      "retagged": 0, "retag_changed": 0}
    if retag:
        with steps.warehouse(ctx) as con:
            again = tag_stored(con, tagger, parse_since(retag_since), only_untagged=False)
        result.update(retagged=again.articles, retag_changed=again.changed)
    return result


class Clustered(TypedDict):
    clustered: int
    stories_new: int
    axis_stories_new: int


def cluster_run(config: str | None, run_id: str) -> Clustered:
    """Run the cluster step, with the supply events and story signatures the page tasks staged."""
    from axiswatch import steps

    from transform.supply_events import SupplyEvent, SupplyEventExtractor

    settings = settings_for(config)
    folder = run_folder(settings, run_id)
    plan = _plan(folder)
    early = _early(folder, "events", "signatures")
    preread = {i: [SupplyEvent(**e) for e in events] for i, events in early["events"].items()}
    # The signatures the page tasks' extraction workers made: the cluster task only assigns stories.
    staged = {i: staging.signature_from_dict(s) for i, s in early["signatures"].items()}
    presigned = {i: sig for i, sig in staged.items() if sig is not None}
    stories = steps.cluster(_context(settings, run_id, plan), (SupplyEventExtractor.from_file(), preread), presigned)
    return {"clustered": stories.articles, "stories_new": stories.stories_new,
            "axis_stories_new": stories.axis_stories_new}


class Indexed(TypedDict):
    refreshed: bool


def index_run(config: str | None, run_id: str, loaded: Loaded) -> Indexed:
    """Refresh the search index when the load changed the articles (``steps.start_indexing``,
    the command line's rule), beside the tag and cluster tasks as ``axiswatch run`` does on a
    thread: the index reads only the articles, final once the load committed. On a lake the index
    is a file of its own, so this task needs no warehouse slot; on a DuckDB file it is inside the
    warehouse and the DAG gives the task the writers' pool."""
    from axiswatch import steps

    settings = settings_for(config)
    ctx = _context(settings, run_id, _plan(run_folder(settings, run_id)))
    changed = steps.LoadResult(articles_new=loaded.get("articles_new", 0), duplicates=loaded.get("duplicates", 0),
                               pages_recovered=loaded.get("pages_recovered", 0))
    indexing = steps.start_indexing(ctx, changed)
    if indexing is None:
        return {"refreshed": False}
    indexing.wait()
    return {"refreshed": True}


class _Refreshed:
    """What ``steps.publish`` waits on when the index task refreshed the index already."""

    def wait(self) -> None:
        return None


def publish_run(config: str | None, run_id: str, indexed: bool = False) -> dict:
    """Run the publish step (index unless the index task refreshed it, snapshot, report; the run
    becomes finished), then remove the run's staging folder and return what ops read
    (``run_summary``)."""
    from axiswatch import steps

    settings = settings_for(config)
    folder = run_folder(settings, run_id)
    published = steps.publish(_context(settings, run_id, _plan(folder)), _Refreshed() if indexed else None)
    staging.remove(folder)
    return {**run_summary(config, run_id), "report": published.report}


def run_summary(config: str | None, run_id: str) -> dict:
    """What ops read at the end of a run: counts, failures by kind, feeds failing night after night."""
    from collections import Counter

    from warehouse.db import connect
    from warehouse.load import run_row, unhealthy_feeds

    settings = settings_for(config)
    con = connect(settings.database)
    try:
        row = run_row(con, run_id) or {}
        unhealthy = unhealthy_feeds(con, settings.unhealthy_after)
    finally:
        con.close()
    errors = json.loads(row.get("errors") or "[]")
    keys = ("feeds_ok", "feeds_failed", "entries_seen", "articles_new", "duplicates", "axis_new",
            "pages_failed", "stories_new", "axis_stories_new")
    return {
        "run_id": run_id, "status": row.get("status"), **{k: row.get(k) for k in keys},
        "failures_by_kind": dict(Counter(e["kind"] for e in errors)),
        "unhealthy_feeds": [{"feed": f["name"], "failing_runs": f["failure_streak"]} for f in unhealthy][:10],
    }


def clean_staging(config: str | None, run_id: str) -> None:
    """Remove the run's staging folder."""
    staging.remove(run_folder(settings_for(config), run_id))


def retag_stored(config: str | None, since: str | None) -> dict:
    """Re-apply the current tagger to stored articles (since an ISO date), keeping history."""
    from axiswatch.pipeline import retag

    settings = settings_for(config)
    return retag(settings.database, _tagger(settings), parse_since(since)).as_json()


def send_alerts(config: str | None, run_id: str | None) -> dict:
    """Queue and deliver alerts for what the last load added (the alerts DAG's only task)."""
    from alerts.outbox import deliver

    settings = settings_for(config)
    return deliver(settings.database, settings.alerts, run_id, settings.http.settings()).as_json()
