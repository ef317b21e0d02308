"""`make bench-cluster`: the benchmark night through the Celery cluster (scripts/cluster.py: the
compose services on this machine, two workers) beside the same night through `axiswatch run`,
both into a DuckLake whose catalog is on the cluster's PostgreSQL: the scheduler's overhead as a
ratio of wall times. Prints one JSON object, with the machine's load average before and after
(the machine is shared: a busy neighbour slows both sides, the cluster more).

Usage: python -m benchmarks.cluster [--feeds 500 --entries 50 --pages 10000 --hosts 50 --latency 0.1]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

DAG = "axiswatch_ingest"

SUMMARY = """
import json, os, sys
from axiswatch.orchestration import run_summary
print(json.dumps(run_summary(os.environ["AXISWATCH_CONFIG"], sys.argv[1]), default=str))
"""


def task_start_seconds(logs: Path, dag_id: str, run_id: str) -> list[float]:
    """For each task log of the run: seconds from the task's first line to "DAG bundles loaded"
    (the task runner starting and loading the DAG), the slowest few, rounded."""
    from datetime import datetime

    seconds = []
    for path in (logs / f"dag_id={dag_id}" / f"run_id={run_id}").glob("**/attempt=*.log"):
        lines = [json.loads(line) for line in path.read_text(errors="replace").splitlines() if line.startswith("{")]
        stamps = [(line.get("event", ""), line.get("timestamp")) for line in lines if line.get("timestamp")]
        loaded = next((t for e, t in stamps if str(e).startswith("DAG bundles loaded")), None)
        if stamps and loaded:
            start = datetime.fromisoformat(stamps[0][1].replace("Z", "+00:00"))
            seconds.append((datetime.fromisoformat(loaded.replace("Z", "+00:00")) - start).total_seconds())
    return sorted((round(x, 1) for x in seconds), reverse=True)[:4]


def tree_cpu_seconds(root: int) -> float:
    """CPU seconds of a process and everything under it: the live ones' own time and what each
    has collected from children it waited for (the exited tasks and extraction workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    stats: dict[int, tuple[int, float]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # After the command's closing parenthesis: state, ppid, ..., utime, stime, cutime, cstime.
        stats[int(entry.name)] = (int(fields[1]), sum(int(x) for x in fields[11:15]) / tick)
    children: dict[int, list[int]] = {}
    for pid, (ppid, _) in stats.items():
        children.setdefault(ppid, []).append(pid)
    total, todo = 0.0, [root]
    while todo:
        pid = todo.pop()
        total += stats.get(pid, (0, 0.0))[1]
        todo.extend(children.get(pid, []))
    return total


def service_cpu_seconds(cluster) -> dict[str, float]:
    """CPU seconds so far of each process the cluster started, PostgreSQL included."""
    roots = {name: proc.pid for name, proc in cluster.procs.items()}
    pid_file = cluster.pg_data / "postmaster.pid"
    if pid_file.exists():
        roots["postgres"] = int(pid_file.read_text().split()[0])
    return {name: tree_cpu_seconds(pid) for name, pid in roots.items()}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--entries", type=int, default=50, help="entries per feed")
    parser.add_argument("--pages", type=int, default=10000, help="distinct article pages")
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--workers", type=int, default=2, help="Celery workers (one task each at a time)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds the cluster's run may take")
    parser.add_argument("--keep", action="store_true", help="keep the cluster's folder (task logs) and print its path")
    args = parser.parse_args(argv)

    from benchmarks.corpus import build, serve
    from cluster import Cluster, ClusterError

    corpus = build(args.feeds, args.entries, args.pages, args.hosts)
    servers, port = serve(corpus, args.latency)
    cluster = Cluster(workers=args.workers)
    feeds = cluster.folder / "feeds.yaml"
    feeds.write_text(yaml.safe_dump({"feeds": [{"name": f"feed-{i}", "url": u.replace("{PORT}", str(port))}
                                               for i, u in enumerate(corpus.feed_urls)]}), encoding="utf-8")
    # The night's HTTP settings (benchmarks/night.py), the rest from the compose settings file.
    cluster.settings_env = {
        "AXISWATCH_FEEDS_FILE": str(feeds), "AXISWATCH_HTTP__ALLOW_NETWORKS": '["127.0.0.0/8"]',
        "AXISWATCH_HTTP__RETRIES": "1", "AXISWATCH_HTTP__BACKOFF_BASE": "0.2", "AXISWATCH_WORKERS": "64",
        "AXISWATCH_HTTP__CONNECT_TIMEOUT": "5", "AXISWATCH_HTTP__READ_TIMEOUT": "10", "AXISWATCH_HTTP__DEADLINE": "20",
    }
    load_before = os.getloadavg()
    result: dict = {"benchmark": "cluster", "corpus": {"feeds": args.feeds, "entries": args.feeds * args.entries,
                                                       "pages": args.pages, "hosts": args.hosts, "latency_s": args.latency},
                    "workers": args.workers, "cores": os.cpu_count()}
    try:
        cluster.start_postgres()
        # `axiswatch run` first, into its own lake database on the same server, with the same
        # settings a worker task sees (only the catalog database and data folder differ).
        env = cluster.env("airflow-worker")
        psql = [str(cluster.pg_bin / "createdb"), "-h", "127.0.0.1", "-p", str(cluster.ports.postgres), "-U", "airflow",
                "axiswatch_lake_cli"]
        subprocess.run(psql, env={**os.environ, "PGPASSWORD": env["PGPASSWORD"]}, check=True, capture_output=True)
        cli_env = {**env, "AXISWATCH_LAKE_CATALOG": env["AXISWATCH_LAKE_CATALOG"].replace("axiswatch_lake", "axiswatch_lake_cli"),
                   "AXISWATCH_LAKE_DATA_PATH": str(cluster.data / "lake-cli") + "/"}
        started, cpu_before = time.perf_counter(), os.times()
        run = subprocess.run([str(ROOT / ".venv/bin/axiswatch"), "run", "--config", str(ROOT / env["AXISWATCH_CONFIG"]),
                              "--json"], env=cli_env, cwd=ROOT, capture_output=True, text=True, timeout=args.timeout)
        cli_s = time.perf_counter() - started
        cpu_after = os.times()
        cli_cpu = (cpu_after.children_user + cpu_after.children_system
                   - cpu_before.children_user - cpu_before.children_system)
        if run.returncode:
            raise ClusterError(f"axiswatch run failed: {run.stderr[-2000:]}")
        cli = json.loads(run.stdout.strip().splitlines()[-1])
        result["axiswatch_run"] = {"seconds": round(cli_s, 1), "articles_new": cli.get("articles_new"),
                                   "feeds_ok": cli.get("feeds_ok"), "pages_failed": cli.get("pages_failed"),
                                   "cpu_s": round(cli_cpu, 1)}

        started = time.perf_counter()
        cluster.start_redis()
        cluster.start_airflow()
        cluster.wait_for_dag(DAG)
        result["cluster_start_s"] = round(time.perf_counter() - started, 1)
        started, cpu_before = time.perf_counter(), service_cpu_seconds(cluster)
        cluster.trigger(DAG, "bench-1")
        state = cluster.wait_for_run(DAG, "bench-1", args.timeout)
        cluster_s = time.perf_counter() - started
        cpu_after = service_cpu_seconds(cluster)
        cpu = {name: round(cpu_after[name] - cpu_before.get(name, 0.0), 1) for name in cpu_after}
        summary = json.loads(cluster.python(SUMMARY, "bench-1"))
        tasks = cluster.query("SELECT task_id, count(*), round(sum(extract(epoch FROM end_date - start_date))::numeric, 1) "
                              "FROM task_instance WHERE dag_id = %s AND run_id = 'bench-1' GROUP BY task_id", DAG)
        span = cluster.query("SELECT extract(epoch FROM max(end_date) - min(start_date)) FROM task_instance "
                             "WHERE dag_id = %s AND run_id = 'bench-1'", DAG)[0][0]
        # The run as Airflow records it, from queued to finished: what a scheduled night costs
        # (trigger to success also counts the `airflow dags trigger` command's own start).
        recorded = cluster.query("SELECT extract(epoch FROM end_date - queued_at) FROM dag_run "
                                 "WHERE dag_id = %s AND run_id = 'bench-1'", DAG)[0][0]
        # The first task after the cluster started waits seconds before its DAG is loaded (once
        # per cluster start, not per task or worker): the slowest task starts, from their logs.
        cold = task_start_seconds(cluster.folder / "airflow/logs", DAG, "bench-1")
        result["cluster_run"] = {"state": state, "seconds": round(cluster_s, 1),
                                 "queued_to_finished_s": round(float(recorded or 0), 1),
                                 "task_start_to_dag_loaded_s": cold, "articles_new": summary["articles_new"],
                                 "feeds_ok": summary["feeds_ok"], "pages_failed": summary["pages_failed"],
                                 "first_task_start_to_last_task_end_s": round(float(span), 1),
                                 "tasks": {t: {"count": n, "task_seconds": float(s or 0)} for t, n, s in tasks},
                                 # CPU seconds of each service during the run (the workers' include
                                 # their tasks); their sum over the cores is the least the run can take.
                                 "cpu_s": cpu, "cpu_s_total": round(sum(cpu.values()), 1)}
        # A failed run's wall time includes its retries' waits: no ratio for it.
        result["cluster_vs_axiswatch_run"] = round(cluster_s / cli_s, 2) if state == "success" else None
        result["run_queued_to_finished_vs_axiswatch_run"] = (round(float(recorded) / cli_s, 2)
                                                              if state == "success" else None)
        result["same_articles"] = summary["articles_new"] == cli.get("articles_new")
    finally:
        for server in servers:
            server.shutdown()
        cluster.stop(keep=args.keep)
    if args.keep:
        result["kept"] = str(cluster.folder)
    result["load_average_before"] = [round(x, 2) for x in load_before]
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
