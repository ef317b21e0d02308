"""Faults on a real Celery cluster (scripts/cluster.py: PostgreSQL, Redis, api-server, scheduler,
dag-processor, triggerer, two workers, from docker/'s files). Each test brings up its own cluster
(a minute or two on 2 cores) and runs axiswatch_ingest over the demo corpus with a fault in the
middle; the run must end with the figures a clean `axiswatch demo` gives (tests/test_demo.py):
nothing lost, nothing stored twice.

Minutes per test, so `make test` leaves them out; `make cluster-faults` runs them
(AXISWATCH_CLUSTER_TESTS=1).
"""

from __future__ import annotations

import json
import os
import re
import signal
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

pytestmark = [
    pytest.mark.skipif(os.environ.get("AXISWATCH_CLUSTER_TESTS") != "1",
                       reason="minutes per test: `make cluster-faults` runs them"),
    pytest.mark.timeout(1200),
]

DAG = "axiswatch_ingest"
CLEAN = {"feeds_ok": 8, "feeds_failed": 0, "articles_new": 42, "duplicates": 20, "axis_new": 21,
         "axis_stories_new": 17, "pages_failed": 0}  # `axiswatch demo` on the same corpus

CHECK = """
import json, os, sys
from axiswatch.orchestration import run_summary, settings_for
from warehouse.db import connect
config = os.environ["AXISWATCH_CONFIG"]
summary = run_summary(config, sys.argv[1])
con = connect(settings_for(config).database, read_only=True)
one = lambda sql: con.execute(sql).fetchone()[0]
summary["articles"] = one("SELECT count(*) FROM articles")
summary["distinct_urls"] = one("SELECT count(DISTINCT url) FROM articles")
summary["axis_stories"] = one("SELECT count(*) FROM v_axis_stories")
print(json.dumps(summary, default=str))
"""


@pytest.fixture
def cluster():
    from cluster import Cluster
    from cluster_demo import demo_settings, serve_demo

    c = Cluster(workers=2)
    server, feeds = serve_demo(c.folder, page_delay=0.4)
    c.settings_env = {
        **demo_settings(c.folder, feeds),
        "AXISWATCH_ARTICLE_BATCH_SIZE": "4",  # 11 page batches, so a worker dies mid-fetch
        # A killed worker's task stops heartbeating; the scheduler fails it after this and retries.
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT": "30",
        "AIRFLOW__SCHEDULER__TASK_INSTANCE_HEARTBEAT_TIMEOUT_DETECTION_INTERVAL": "5",
    }
    try:
        c.start()
        c.wait_for_dag(DAG)
        yield c
    finally:
        server.shutdown()
        server.server_close()
        c.stop()


def check_clean(c, run_id: str) -> dict:
    summary = json.loads(c.python(CHECK, run_id))
    assert {k: summary[k] for k in CLEAN} == CLEAN, summary
    assert summary["articles"] == summary["distinct_urls"] == 42
    assert summary["axis_stories"] == 17
    return summary


def worker_in_fetch_pages(c, seconds: float = 300) -> str:
    """The worker running a fetch_pages task now (its last workload started, not finished)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        c.check_alive()
        for name in ("worker1", "worker2"):
            log = c.log_tail(name, 20000)
            starts = [m.start() for m in re.finditer(r"Executing workload in Celery", log)]
            if starts:
                last = log[starts[-1]:]
                if "task_id='fetch_pages'" in last.split("\n", 1)[0] and "Workload finished" not in last:
                    return name
        time.sleep(0.3)
    raise AssertionError("no worker ran fetch_pages")


def test_sigkill_a_worker_mid_page_fetch_the_other_finishes_the_run(cluster):
    c = cluster
    c.trigger(DAG, "fault-worker")
    victim = worker_in_fetch_pages(c)
    time.sleep(0.5)  # inside the batch: its pages take 0.4 s each
    c.kill(victim, signal.SIGKILL)
    assert c.wait_for_run(DAG, "fault-worker", 900) == "success"
    retried = c.query("SELECT count(*) FROM task_instance WHERE dag_id = %s AND run_id = %s "
                      "AND task_id = 'fetch_pages' AND try_number > 1", DAG, "fault-worker")[0][0]
    assert retried >= 1  # the killed task ran again (on the worker left)
    check_clean(c, "fault-worker")


def test_redis_restarted_mid_run(cluster):
    c = cluster
    c.trigger(DAG, "fault-redis")
    worker_in_fetch_pages(c)
    c.kill("redis", signal.SIGKILL)
    time.sleep(3)
    c.start_redis()  # same port, same append-only file
    assert c.wait_for_run(DAG, "fault-redis", 900) == "success"
    check_clean(c, "fault-redis")


def task_state(c, task_id: str) -> tuple[str | None, int]:
    rows = c.query("SELECT state, try_number FROM task_instance WHERE dag_id = %s AND run_id = %s AND task_id = %s",
                   DAG, "fault-catalog", task_id)
    return (rows[0][0], rows[0][1]) if rows else (None, 0)


def test_lake_catalog_unavailable_during_load_the_load_retries_and_nothing_is_half_written(cluster):
    """The DuckLake catalog's database refuses connections (Airflow's metadata, on the same server,
    stays up) from the moment `load` is queued until its first try has failed; the retry loads
    everything once."""
    c = cluster
    c.trigger(DAG, "fault-catalog")
    deadline = time.monotonic() + 600
    while task_state(c, "load")[0] not in ("scheduled", "queued", "running"):
        assert time.monotonic() < deadline, "load never queued"
        c.check_alive()
        time.sleep(0.2)
    c.execute("ALTER DATABASE axiswatch_lake ALLOW_CONNECTIONS false")
    c.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'axiswatch_lake'")
    try:
        while task_state(c, "load")[0] not in ("up_for_retry", "failed", "success"):
            assert time.monotonic() < deadline, "load neither failed nor finished"
            time.sleep(0.5)
    finally:
        c.execute("ALTER DATABASE axiswatch_lake ALLOW_CONNECTIONS true")
    assert task_state(c, "load")[0] == "up_for_retry"
    assert c.wait_for_run(DAG, "fault-catalog", 900) == "success"
    assert task_state(c, "load")[1] >= 2
    check_clean(c, "fault-catalog")
