"""`make bench-cluster`: the benchmark night through the Celery cluster (scripts/cluster.py: the
compose services on this machine, two workers) beside the same night through `axiswatch run`,
both into a DuckLake whose catalog is on the cluster's PostgreSQL: the scheduler's overhead as a
ratio of wall times. Prints one JSON object, with the machine's load average before and after
(the machine is shared: a busy neighbour slows both sides, the cluster more).

With ``--series N`` it runs N pairs, each into fresh lakes, the cluster started for its night and
stopped after it (the machine's speed drifts between minutes, so one pair says little); the
top-level figures are the first pair's, ``series`` has every pair and ``ratios`` their ratios.

Usage: python -m benchmarks.cluster [--feeds 500 --entries 50 --pages 10000 --hosts 50 --latency 0.1 --series 1]
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


def createdb(cluster, name: str) -> None:
    env = cluster.env("airflow-worker")
    subprocess.run([str(cluster.pg_bin / "createdb"), "-h", "127.0.0.1", "-p", str(cluster.ports.postgres), "-U",
                    "airflow", name], env={**os.environ, "PGPASSWORD": env["PGPASSWORD"]}, check=True, capture_output=True)


def lake_env(cluster, n: int, side: str) -> dict[str, str]:
    """A fresh lake for night ``n`` of one side: its own catalog database and data folder."""
    catalog = cluster.env("airflow-worker")["AXISWATCH_LAKE_CATALOG"]
    name = f"axiswatch_lake_{side}_{n}"
    createdb(cluster, name)
    return {"AXISWATCH_LAKE_CATALOG": catalog.replace("axiswatch_lake", name),
            "AXISWATCH_LAKE_DATA_PATH": str(cluster.data / f"lake-{side}-{n}") + "/"}


def cli_night(cluster, n: int, timeout: float) -> dict:
    """``axiswatch run`` with the settings a worker task sees, into a fresh lake on the cluster's
    PostgreSQL (only the catalog database and data folder differ)."""
    from cluster import ClusterError

    env = {**cluster.env("airflow-worker"), **lake_env(cluster, n, "cli")}
    # A worker's page task shares the cores with the other worker's; `axiswatch run` has the
    # machine to itself and extracts on every core, as it does when ops run it.
    env.pop("AXISWATCH_EXTRACTION__PROCESSES", None)
    started, cpu_before = time.perf_counter(), os.times()
    run = subprocess.run([str(ROOT / ".venv/bin/axiswatch"), "run", "--config", str(ROOT / env["AXISWATCH_CONFIG"]),
                          "--json"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)
    seconds = time.perf_counter() - started
    cpu_after = os.times()
    if run.returncode:
        raise ClusterError(f"axiswatch run failed: {run.stderr[-2000:]}")
    cli = json.loads(run.stdout.strip().splitlines()[-1])
    return {"seconds": round(seconds, 1), "articles_new": cli.get("articles_new"), "feeds_ok": cli.get("feeds_ok"),
            "pages_failed": cli.get("pages_failed"),
            "cpu_s": round(cpu_after.children_user + cpu_after.children_system
                           - cpu_before.children_user - cpu_before.children_system, 1)}


def cluster_night(cluster, n: int, timeout: float) -> tuple[dict, float]:
    """Start the cluster on a fresh lake, run the night as DAG run ``bench-<n>``, stop the cluster
    (PostgreSQL stays); the run's figures and the cluster's start seconds."""
    run_id = f"bench-{n}"
    base_env = dict(cluster.settings_env)
    cluster.settings_env = {**base_env, **lake_env(cluster, n, "cluster")}
    try:
        started = time.perf_counter()
        cluster.start_redis()
        cluster.start_airflow()
        cluster.wait_for_dag(DAG)
        start_s = time.perf_counter() - started
        started, cpu_before = time.time(), service_cpu_seconds(cluster)
        cluster.trigger_api(DAG, run_id)
        state = cluster.wait_for_run(DAG, run_id, timeout)
        # To the end Airflow recorded (the wait polls every few seconds), on this machine's clock.
        seconds = cluster.run_end(DAG, run_id) - started
        cpu_after = service_cpu_seconds(cluster)
        cpu = {name: round(cpu_after[name] - cpu_before.get(name, 0.0), 1) for name in cpu_after}
        summary = json.loads(cluster.python(SUMMARY, run_id))
        tasks = cluster.query("SELECT task_id, count(*), round(sum(extract(epoch FROM end_date - start_date))::numeric, 1) "
                              "FROM task_instance WHERE dag_id = %s AND run_id = %s GROUP BY task_id", DAG, run_id)
        span = cluster.query("SELECT extract(epoch FROM max(end_date) - min(start_date)) FROM task_instance "
                             "WHERE dag_id = %s AND run_id = %s", DAG, run_id)[0][0]
        # The run as Airflow records it, from queued to finished: what a scheduled night costs
        # (trigger to success also counts the API call and the run's creation).
        recorded = cluster.query("SELECT extract(epoch FROM end_date - queued_at) FROM dag_run "
                                 "WHERE dag_id = %s AND run_id = %s", DAG, run_id)[0][0]
        # The first task after the cluster started waits seconds before its DAG is loaded (once
        # per cluster start, not per task or worker): the slowest task starts, from their logs.
        cold = task_start_seconds(cluster.folder / "airflow/logs", DAG, run_id)
    finally:
        cluster.stop_processes()
        cluster.settings_env = base_env
    return {"state": state, "seconds": round(seconds, 1), "queued_to_finished_s": round(float(recorded or 0), 1),
            "task_start_to_dag_loaded_s": cold, "articles_new": summary["articles_new"],
            "feeds_ok": summary["feeds_ok"], "pages_failed": summary["pages_failed"],
            "first_task_start_to_last_task_end_s": round(float(span), 1),
            "tasks": {t: {"count": c, "task_seconds": float(x or 0)} for t, c, x in tasks},
            # CPU seconds of each service during the run (the workers' include their tasks);
            # their sum over the cores is the least the run can take.
            "cpu_s": cpu, "cpu_s_total": round(sum(cpu.values()), 1)}, start_s


def pair_figures(cli: dict, run: dict) -> dict:
    ok = run["state"] == "success"  # a failed run's wall time includes its retries' waits: no ratio
    return {"cluster_vs_axiswatch_run": round(run["seconds"] / cli["seconds"], 2) if ok else None,
            "run_queued_to_finished_vs_axiswatch_run": round(run["queued_to_finished_s"] / cli["seconds"], 2) if ok else None,
            "same_articles": run["articles_new"] == cli["articles_new"]}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=500)
    parser.add_argument("--entries", type=int, default=50, help="entries per feed")
    parser.add_argument("--pages", type=int, default=10000, help="distinct article pages")
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--workers", type=int, default=2, help="Celery workers (one task each at a time)")
    parser.add_argument("--timeout", type=float, default=3600, help="seconds the cluster's run may take")
    parser.add_argument("--series", type=int, default=1, help="pairs of nights (axiswatch run, then the cluster)")
    parser.add_argument("--keep", action="store_true", help="keep the cluster's folder (task logs) and print its path")
    args = parser.parse_args(argv)

    from benchmarks.corpus import build, serve
    from cluster import Cluster

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
                    "workers": args.workers, "cores": os.cpu_count(), "series": []}
    try:
        cluster.start_postgres()
        for n in range(1, args.series + 1):
            cli = cli_night(cluster, n, args.timeout)
            run, start_s = cluster_night(cluster, n, args.timeout)
            pair = {"axiswatch_run": cli, "cluster_start_s": round(start_s, 1), "cluster_run": run,
                    **pair_figures(cli, run), "load_average": [round(x, 2) for x in os.getloadavg()]}
            result["series"].append(pair)
            print(json.dumps({"pair": n, "axiswatch_run_s": cli["seconds"], "cluster_run_s": run["seconds"],
                              "ratio": pair["cluster_vs_axiswatch_run"]}), file=sys.stderr, flush=True)
    finally:
        for server in servers:
            server.shutdown()
        cluster.stop(keep=args.keep)
    first = result["series"][0]
    result.update({k: first[k] for k in ("axiswatch_run", "cluster_start_s", "cluster_run", "cluster_vs_axiswatch_run",
                                         "run_queued_to_finished_vs_axiswatch_run", "same_articles")})
    result["ratios"] = [p["cluster_vs_axiswatch_run"] for p in result["series"]]
    if args.keep:
        result["kept"] = str(cluster.folder)
    result["load_average_before"] = [round(x, 2) for x in load_before]
    result["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(result))


if __name__ == "__main__":
    main()
