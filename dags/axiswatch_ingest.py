"""axiswatch_ingest: the nightly pass as an Airflow DAG (wiring only; the steps live in
axiswatch.orchestration and are the same ones `axiswatch run` uses).

prepare -> fetch_feeds (mapped, one per batch of feed_batch_size feeds) -> plan_pages
-> fetch_pages (mapped, batches of up to article_batch_size pages) -> load (one writer)
-> tag -> cluster -> publish (updates the warehouse Asset, cleans staging), with index (the
search index) beside tag and cluster, as `axiswatch run` refreshes it on a thread of its own

Feeds and pages go in batches because every Airflow task costs seconds of scheduling and process
start; a failing feed or page is a result inside its batch (staged, recorded by the load, logged
one line per feed), never a failed task.

Each task calls exactly one step of axiswatch.steps. A bad config or parameter fails `prepare`
alone (no retries); the tasks after it are skipped, so ops get one alert for one mistake.

Nothing heavy is imported at parse time: airflow.sdk, the failure callback (logging and os only),
and the settings (pydantic models) for the schedule and the deadline.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import (
    Asset,
    DeadlineAlert,
    DeadlineReference,
    Param,
    SyncCallback,
    TriggerRule,
    dag,
    task,
)
from airflow.sdk.exceptions import AirflowFailException, AirflowSkipException

from axiswatch.ops import task_failed  # light: logging and os only

CONFIG = os.environ.get("AXISWATCH_CONFIG", "config/settings.yaml")
WAREHOUSE = Asset(name="axiswatch_warehouse", uri="file:///axiswatch/warehouse")
POOL = "axiswatch_warehouse"  # one slot: only one task writes DuckDB at a time


def _settings():
    """The run settings as the tasks will see them (settings file, then AXISWATCH_* variables),
    read at parse time for the schedule and the deadline. A broken settings file gives the
    defaults here, so the DAG still appears and its first task fails with the file's error."""
    from axiswatch.config import ConfigError, Settings
    from axiswatch.orchestration import settings_for

    try:
        return settings_for(CONFIG)
    except ConfigError:
        return Settings.model_construct()


SETTINGS = _settings()


def index_pool(backend: str) -> str | None:
    """The search index is a file of its own beside a lake (its task may run while tag and
    cluster write the lake) but lives inside a DuckDB warehouse file (one writer: the pool)."""
    return None if backend == "ducklake" else POOL


def _permanent(fn, *args):
    """Run a step; a configuration error fails the task at once instead of retrying, and a run
    whose first task failed (no plan) skips the task instead of failing it again."""
    from axiswatch.config import ConfigError
    from axiswatch.orchestration import PlanMissing

    try:
        return fn(*args)
    except ConfigError as exc:
        raise AirflowFailException(str(exc)) from None
    except PlanMissing as exc:
        raise AirflowSkipException(str(exc)) from None


def _deadline() -> DeadlineAlert | None:
    """Alert when a run has not finished this long after it was queued: scheduled, manual and
    backfill runs alike (a deadline on the logical date would fire at once for a backfill or a
    first unpause, and never for a manual run).

    AXISWATCH_DEADLINE_MINUTES=0 turns it off: Airflow 3.3.2's ``dag.test()`` cannot run a DAG
    with a deadline ('dict' object has no attribute 'hex'), so the in-process tests do that."""
    minutes = SETTINGS.deadline_minutes
    if minutes <= 0:
        return None
    return DeadlineAlert(
        reference=DeadlineReference.DAGRUN_QUEUED_AT,
        interval=timedelta(minutes=minutes),
        callback=SyncCallback("axiswatch.ops.deadline_missed", kwargs={"dag_id": "axiswatch_ingest"}),
    )


@dag(
    dag_id="axiswatch_ingest",
    schedule=SETTINGS.schedule,
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["axiswatch", "ingest"],
    default_args={
        "retries": 2,
        "retry_delay": timedelta(minutes=1),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=15),
        "on_failure_callback": task_failed,
    },
    params={
        "feeds_file": Param(None, type=["null", "string"], description="Feeds YAML instead of the configured one"),
        "retag": Param(False, type="boolean", description="Re-apply the current tagger to stored articles"),
        "retag_since": Param(None, type=["null", "string"], description="ISO date: only retag articles since"),
    },
    deadline=_deadline(),
    doc_md=__doc__,
)
def axiswatch_ingest():
    # multiple_outputs=False: a task returning a dict would otherwise push every key as its own XCom.
    @task(pool=POOL, multiple_outputs=False)
    def prepare(params=None, run_id=None) -> list[str]:
        from axiswatch.orchestration import prepare as step

        return _permanent(step, CONFIG, run_id, params.get("feeds_file"), params.get("retag"),
                          params.get("retag_since"))

    @task(map_index_template="feeds batch {{ task.op_kwargs['batch'] }}", multiple_outputs=False)
    def fetch_feeds(batch: int, run_id=None) -> dict:
        from axiswatch.orchestration import fetch_feed_batch

        return _permanent(fetch_feed_batch, CONFIG, run_id, batch)

    @task(pool=POOL, trigger_rule=TriggerRule.ALL_DONE)
    def plan_pages(run_id=None) -> list[str]:
        from axiswatch.orchestration import plan_pages as step

        return _permanent(step, CONFIG, run_id)

    @task(multiple_outputs=False)
    def fetch_pages(batch: str) -> dict:
        from axiswatch.orchestration import fetch_page_batch

        return _permanent(fetch_page_batch, CONFIG, batch)

    @task(pool=POOL, trigger_rule=TriggerRule.ALL_DONE, multiple_outputs=False)
    def load(run_id=None) -> dict:
        from axiswatch.orchestration import load_run

        return _permanent(load_run, CONFIG, run_id)

    @task(pool=POOL, multiple_outputs=False)
    def tag(loaded: dict, params=None, run_id=None) -> dict:
        from axiswatch.orchestration import tag_run

        return _permanent(tag_run, CONFIG, run_id, params.get("retag"), params.get("retag_since"))

    @task(pool=POOL, multiple_outputs=False)
    def cluster(tagged: dict, run_id=None) -> dict:
        from axiswatch.orchestration import cluster_run

        return _permanent(cluster_run, CONFIG, run_id)

    @task(pool=index_pool(SETTINGS.backend), multiple_outputs=False)
    def index(loaded: dict, run_id=None) -> dict:
        from axiswatch.orchestration import index_run

        return _permanent(index_run, CONFIG, run_id, loaded)

    @task(pool=POOL, outlets=[WAREHOUSE], multiple_outputs=False)
    def publish(clustered: dict, indexed: dict, run_id=None) -> dict:
        from axiswatch.ops import report_unhealthy
        from axiswatch.orchestration import publish_run

        summary = _permanent(publish_run, CONFIG, run_id, indexed["refreshed"])
        report_unhealthy(summary)
        print("axiswatch run summary:", summary)
        return summary

    feeds = prepare()
    fetched = fetch_feeds.expand(batch=feeds)
    batches = plan_pages()
    fetched >> batches
    pages = fetch_pages.expand(batch=batches)
    loaded = load()
    pages >> loaded
    tagged = tag(loaded)
    # plan_pages and load run whatever their upstream did (a dead feed task must not stop the
    # night) and skip themselves when prepare failed; this edge makes the rest upstream_failed
    # then, so the run is marked failed rather than "success" with every leaf skipped.
    feeds >> tagged
    publish(cluster(tagged), index(loaded))


axiswatch_ingest()
