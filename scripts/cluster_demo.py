"""`make cluster-demo`: a real Celery cluster on this machine runs axiswatch_ingest twice over the
demo corpus, from the same env files and settings docker/compose uses (see scripts/cluster.py).

Serves the demo corpus on a free port, brings up PostgreSQL, Redis, the api-server, scheduler,
dag-processor, triggerer and two Celery workers in a temporary folder, triggers the ingest DAG,
prints the run summary (feeds, new articles, axis stories, alerts), triggers it again (nothing
new may arrive), and stops everything it started. Exit 1 on any failure, with the failing log.
Usage: python scripts/cluster_demo.py [--workers N] [--keep]
"""

from __future__ import annotations

import argparse
import json
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from cluster import ROOT, Cluster, ClusterError  # noqa: E402

DAG = "axiswatch_ingest"

# What a task sees of the warehouse after a run: the run's own summary (pipeline_runs) and, counted
# a second way from the lake's tables, the articles, axis stories and alerts.
SUMMARY = """
import json, os, sys
from axiswatch.orchestration import run_summary, settings_for
from warehouse.db import connect
config = os.environ["AXISWATCH_CONFIG"]
summary = run_summary(config, sys.argv[1])
con = connect(settings_for(config).database, read_only=True)
one = lambda sql: con.execute(sql).fetchone()[0]
summary["lake"] = {"articles": one("SELECT count(*) FROM articles"),
                   "axis_stories": one("SELECT count(*) FROM v_axis_stories"),
                   "alerts_queued": one("SELECT count(*) FROM alert_outbox"),
                   "runs_finished": one("SELECT count(*) FROM pipeline_runs WHERE status = 'finished'")}
con.close()
print(json.dumps(summary, default=str))
"""


def serve_demo(folder: Path, page_delay: float = 0.0) -> tuple[object, Path]:
    """The demo corpus on a free port, and a copy of demo/feeds.yaml pointing at it.
    ``page_delay`` seconds before each article page (the fault tests need page fetching to last)."""
    sys.path.insert(0, str(ROOT))
    from functools import partial

    from axiswatch.demo_server import make_server

    server = make_server(ROOT / "demo/site", 0)
    if page_delay:
        handler = server.RequestHandlerClass

        class Slow(handler.func):
            def do_GET(self) -> None:
                if self.path.endswith(".html"):
                    time.sleep(page_delay)
                super().do_GET()

        server.RequestHandlerClass = partial(Slow, *handler.args, **handler.keywords)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    feeds = folder / "demo-feeds.yaml"
    feeds.write_text((ROOT / "demo/feeds.yaml").read_text(encoding="utf-8")
                     .replace("127.0.0.1:8765", f"127.0.0.1:{port}"), encoding="utf-8")
    return server, feeds


def demo_settings(folder: Path, feeds: Path) -> dict[str, str]:
    """What the demo adds to the compose settings: the demo feeds on 127.0.0.1 and a file channel
    for alerts (the deployment's alert channels are its own)."""
    alerts = {"channels": [{"name": "demo-file", "type": "file", "path": str(folder / "data/alerts.jsonl")}],
              "rules": [{"name": "all-axis-stories", "channels": ["demo-file"], "mode": "digest"}]}
    return {"AXISWATCH_FEEDS_FILE": str(feeds), "AXISWATCH_HTTP__ALLOW_NETWORKS": '["127.0.0.1/32"]',
            "AXISWATCH_HTTP__RETRIES": "1", "AXISWATCH_HTTP__BACKOFF_BASE": "0.2",
            "AXISWATCH_ALERTS": json.dumps(alerts)}


def repo_state() -> set[str]:
    """Files in the checkout that git does not track (ignored ones too): the demo must add none."""
    out = subprocess.run(["git", "status", "--porcelain", "--ignored", "--untracked-files=all"], cwd=ROOT,
                         capture_output=True, text=True).stdout
    return {line for line in out.splitlines() if line.startswith(("??", "!!"))}


def run_once(cluster: Cluster, run_id: str, conf: str | None = None, seconds: float = 900) -> dict:
    started = time.monotonic()
    cluster.trigger(DAG, run_id, conf)
    state = cluster.wait_for_run(DAG, run_id, seconds)
    took = time.monotonic() - started
    tasks = cluster.task_states(DAG, run_id)
    summary = json.loads(cluster.python(SUMMARY, run_id))
    print(f"== {run_id}: {state} in {took:.0f}s; tasks {tasks}")
    print(f"   feeds {summary['feeds_ok']} ok / {summary['feeds_failed']} failed, "
          f"{summary['articles_new']} new articles, {summary['axis_new']} axis articles, "
          f"{summary['axis_stories_new']} new axis stories, pages failed {summary['pages_failed']}")
    print(f"   lake: {summary['lake']}")
    return {"state": state, "tasks": tasks, "summary": summary, "seconds": took}


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs) afterwards")
    args = parser.parse_args()
    before = repo_state()
    def interrupted(signum, frame):
        raise ClusterError(f"interrupted by signal {signum}")

    signal.signal(signal.SIGTERM, interrupted)  # the finally below stops the cluster
    signal.signal(signal.SIGINT, interrupted)
    cluster = None
    server = None
    ok = False
    try:
        cluster = Cluster(workers=args.workers)
        server, feeds = serve_demo(cluster.folder)
        cluster.settings_env = demo_settings(cluster.folder, feeds)
        print(f"== cluster in {cluster.folder}: PostgreSQL :{cluster.ports.postgres}, Redis :{cluster.ports.redis}, "
              f"api-server :{cluster.ports.api}, {args.workers} Celery workers")
        t0 = time.monotonic()
        cluster.start()
        cluster.wait_for_dag(DAG)
        cluster.wait_for_dag("axiswatch_alerts")
        print(f"== up in {time.monotonic() - t0:.0f}s (migrated, DAGs parsed)")
        first = run_once(cluster, "cluster-demo-1")
        alerts_state = "not run"
        if first["state"] == "success":
            # The Asset update schedules axiswatch_alerts in a deployment; the demo turns the
            # scheduler's own schedules off (no 02:00 run on unpause), so it triggers it here.
            cluster.trigger("axiswatch_alerts", "cluster-demo-alerts")
            alerts_state = cluster.wait_for_run("axiswatch_alerts", "cluster-demo-alerts", 600)
        alert_file = cluster.folder / "data/alerts.jsonl"
        sent = len(alert_file.read_text().splitlines()) if alert_file.exists() else 0
        print(f"== axiswatch_alerts: {alerts_state}; alerts delivered to the file channel: {sent}")
        second = run_once(cluster, "cluster-demo-2")
        s1, s2 = first["summary"], second["summary"]
        problems = []
        if first["state"] != "success" or second["state"] != "success" or alerts_state != "success":
            problems.append("a run failed")
        if not s1["feeds_ok"] or s1["feeds_failed"]:
            problems.append(f"first run: {s1['feeds_ok']} feeds ok, {s1['feeds_failed']} failed")
        if not s1["articles_new"] or s1["lake"]["articles"] != s1["articles_new"]:
            problems.append(f"first run: {s1['articles_new']} new articles, {s1['lake']['articles']} in the lake")
        if s2["articles_new"] != 0 or s2["lake"]["articles"] != s1["lake"]["articles"]:
            problems.append(f"second run stored {s2['articles_new']} new articles (expected none)")
        if sent == 0:
            problems.append("no alert delivered")
        if problems:
            raise ClusterError("; ".join(problems))
        ok = True
    except (ClusterError, subprocess.SubprocessError, OSError) as exc:
        print(f"cluster-demo failed: {exc}", file=sys.stderr)
        if cluster is not None:
            for name in ("airflow-scheduler", "worker1", "worker2"):
                print(f"--- {name} log (tail)\n{cluster.log_tail(name, 1500)}", file=sys.stderr)
    finally:
        if server is not None:
            server.shutdown()
            server.server_close()
        if cluster is not None:
            cluster.stop(keep=args.keep)
    after = repo_state()
    changed = after - before
    if changed:
        print(f"cluster-demo failed: it wrote into the repository: {sorted(changed)[:10]}", file=sys.stderr)
        ok = False
    print("== cluster-demo:", "ok, every process stopped" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
