"""The nightly ingest as Airflow runs it: one function per task, small JSON-able values in and
out, bulk data in the run's staging folder. The DAG files only wire these together; every step
underneath is the same one `axiswatch run` uses.

Failure policy: a broken feed or page is data (recorded, reported, the run goes on); a bad
config is permanent (`ConfigError`: fail fast, no retries); an unavailable warehouse is transient
(`WarehouseError`: retried with backoff by Airflow).
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import asdict
from datetime import UTC, datetime
from pathlib import Path

from axiswatch import staging
from axiswatch.config import ConfigError, Settings, load_feeds, load_settings
from axiswatch.pipeline import (
    cluster_new_articles,
    fetch_articles,
    finish_run,
    load_articles,
    new_entries,
    prepare_warehouse,
    refresh_snapshot,
    tag_untagged,
)
from ingest.feeds import fetch_feed
from ingest.http import HttpClient
from ingest.records import Extraction, FeedResult, FeedSource, FeedState
from ingest.text import safe_name
from transform.tagging import Tagger, TopicsError
from warehouse import load
from warehouse.db import open_warehouse
from warehouse.location import Location
from warehouse.report import publish_run_report


def home() -> Path:
    """Where relative paths in the settings start: AXISWATCH_HOME, else the project folder."""
    return Path(os.environ.get("AXISWATCH_HOME") or Path(__file__).resolve().parent.parent)


def settings_for(config: str | None) -> Settings:
    """Settings for a task, with every path made absolute against ``home()``.

    Airflow workers do not start in the project folder, so relative paths must not depend on
    the working directory."""
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


def prepare(config: str | None, run_id: str, feeds_file: str | None = None) -> list[str]:
    """Validate config, migrate the warehouse, and write the run's plan (feeds and their state);
    return the feed names to fetch."""
    settings = settings_for(config)
    feeds_path = str(home() / feeds_file) if feeds_file else settings.feeds_file
    sources = [s for s in load_feeds(feeds_path) if s.enabled]
    try:
        Tagger.from_file(settings.topics_file)
    except TopicsError as exc:
        raise ConfigError(str(exc)) from None
    states = prepare_warehouse(settings.database, sources)
    folder = run_folder(settings, run_id)
    staging.write_json(folder / "plan.json", {
        "run_id": run_id,
        "started_at": datetime.now(UTC),
        "sources": [asdict(s) for s in sources],
        "states": {s.name: asdict(states.get(s.name, FeedState())) for s in sources},
    })
    return [s.name for s in sources]


def _plan(folder: Path) -> dict:
    path = folder / "plan.json"
    if not path.exists():
        raise ConfigError(f"{path}: the run's plan is gone; clear the whole run so 'prepare' writes it again")
    return staging.read_json(path)


def _feed_file(folder: Path, name: str) -> Path:
    return folder / "feeds" / f"{safe_name(name)}.json"


def fetch_one_feed(config: str | None, run_id: str, name: str) -> dict:
    """Fetch and parse one feed into the staging folder; a failing feed is a result, not an error."""
    settings = settings_for(config)
    folder = run_folder(settings, run_id)
    plan = _plan(folder)
    source = FeedSource(**next(s for s in plan["sources"] if s["name"] == name))
    state = FeedState(**plan["states"].get(name, {}))
    with HttpClient(settings.http.settings()) as client:
        result = fetch_feed(client, source, state)
    staging.write_json(_feed_file(folder, name), staging.feed_result_to_dict(result))
    return {"feed": name, "status": result.status, "entries": len(result.entries),
            "error_kind": result.error_kind or None, "error": result.error or None}


def _staged_results(folder: Path) -> tuple[list[FeedResult], list[dict]]:
    """Feed results on disk, plus an error for each planned feed whose task left nothing."""
    plan = _plan(folder)
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
    """Split the new article URLs into batches for the mapped page-fetch tasks."""
    settings = settings_for(config)
    folder = run_folder(settings, run_id)
    results, _ = _staged_results(folder)
    entries = new_entries(settings.database, results)
    items = list(entries.items())
    size = settings.article_batch_size
    paths = []
    for n, start in enumerate(range(0, len(items), size)):
        batch = {url: staging.entry_to_dict(e) for url, e in items[start : start + size]}
        paths.append(str(staging.write_json(folder / "batches" / f"{n:05d}.json", batch)))
    return paths


def fetch_page_batch(config: str | None, batch_path: str) -> dict:
    """Fetch and extract one batch of pages into the staging folder."""
    settings = settings_for(config)
    batch = Path(batch_path)
    entries = {url: staging.entry_from_dict(e) for url, e in staging.read_json(batch).items()}
    with HttpClient(settings.http.settings()) as client:
        pages = fetch_articles(client, entries, settings.workers)
    out = batch.parent.parent / "pages" / batch.name
    staging.write_json(out, {url: asdict(p) for url, p in pages.items()})
    return {"batch": batch.name, "pages": len(pages), "failed": sum(bool(p.reason) for p in pages.values())}


def load_run(config: str | None, run_id: str) -> dict:
    """Load everything staged for the run in one transaction; a second call for the same run is a no-op."""
    settings = settings_for(config)
    con = open_warehouse(settings.database)
    try:
        existing = load.run_row(con, run_id)
    finally:
        con.close()
    if existing and existing["status"] in ("loaded", "success"):
        return {"run_id": run_id, "already_loaded": True, "articles_new": 0, "duplicates": 0}
    folder = run_folder(settings, run_id)
    plan = _plan(folder)
    results, missing = _staged_results(folder)
    entries, pages = {}, {}
    for batch in sorted((folder / "batches").glob("*.json")):
        for url, data in staging.read_json(batch).items():
            entries[url] = staging.entry_from_dict(data)
        page_file = folder / "pages" / batch.name
        staged = staging.read_json(page_file) if page_file.exists() else {}
        for url in staging.read_json(batch):
            pages[url] = staging.extraction_from_dict(staged[url]) if url in staged else Extraction(
                source=url, reason="page task did not finish; see its log")
    run = load.RunRecord(run_id=plan["run_id"], started_at=datetime.fromisoformat(plan["started_at"]))
    loaded = load_articles(settings.database, run, results, entries, pages, missing, len(missing))
    return {"run_id": run.run_id, "already_loaded": False, "feeds_ok": run.feeds_ok,
            "feeds_failed": run.feeds_failed, "entries_seen": run.entries_seen,
            "articles_new": loaded.articles_new, "duplicates": loaded.duplicates,
            "pages_failed": loaded.pages_failed, "errors": loaded.errors}


def tag_and_cluster(config: str | None, run_id: str) -> dict:
    """Tag new articles with the current tagger, give them stories, and close the run."""
    settings = settings_for(config)
    try:
        tagger = Tagger.from_file(settings.topics_file)
    except TopicsError as exc:
        raise ConfigError(str(exc)) from None
    tags = tag_untagged(settings.database, tagger)
    stories = cluster_new_articles(settings.database, run_id=run_id)
    finish_run(settings.database, run_id, tags, stories)
    con = open_warehouse(settings.database)
    try:
        run = load.run_row(con, run_id) or {}
    finally:
        con.close()
    started = run.get("started_at") or datetime.now(UTC)
    stored = tags.articles or stories.articles or run.get("articles_new") or run.get("duplicates")
    snapshot = refresh_snapshot(settings.database, bool(stored))
    report = publish_run_report(snapshot, settings.reports_dir, run_id, started)
    return {"report": str(report), "tagger_version": tags.tagger_version, "tagged": tags.articles, "axis_new": tags.axis,
            "stories_new": stories.stories_new, "axis_stories_new": stories.axis_stories_new}


def run_summary(config: str | None, run_id: str) -> dict:
    """What ops read at the end of a run: counts, failures by kind, feeds failing night after night."""
    settings = settings_for(config)
    con = open_warehouse(settings.database)
    try:
        row = load.run_row(con, run_id) or {}
        unhealthy = load.unhealthy_feeds(con, settings.unhealthy_after)
    finally:
        con.close()
    errors = json.loads(row.get("errors") or "[]")
    return {
        "run_id": run_id, "status": row.get("status"),
        **{k: row.get(k) for k in ("feeds_ok", "feeds_failed", "entries_seen", "articles_new", "duplicates", "axis_new")},
        "failures_by_kind": dict(Counter(e["kind"] for e in errors)),
        "unhealthy_feeds": [{"feed": f["name"], "failing_runs": f["failure_streak"]} for f in unhealthy],
    }


def clean_staging(config: str | None, run_id: str) -> None:
    """Remove the run's staging folder (after a successful load)."""
    staging.remove(run_folder(settings_for(config), run_id))


def retag_stored(config: str | None, since: str | None) -> dict:
    """Re-apply the current tagger to stored articles (since an ISO date), keeping history."""
    from axiswatch.pipeline import retag

    settings = settings_for(config)
    try:
        tagger = Tagger.from_file(settings.topics_file)
        start = datetime.fromisoformat(since) if since else None
    except TopicsError as exc:
        raise ConfigError(str(exc)) from None
    except ValueError:
        raise ConfigError(f"retag_since {since!r}: not an ISO date") from None
    if start is not None and start.tzinfo is None:
        start = start.replace(tzinfo=UTC)
    return retag(settings.database, tagger, start).as_json()


def send_alerts(config: str | None, run_id: str | None) -> dict:
    """Queue and deliver alerts for what the last load added (the alerts DAG's only task)."""
    from alerts.outbox import deliver

    settings = settings_for(config)
    return deliver(settings.database, settings.alerts, run_id, settings.http.settings()).as_json()
