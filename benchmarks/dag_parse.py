"""DAG parse time: how long Airflow takes to parse the whole dags/ folder (target: under 1 s),
and the CPU each ingest task spends importing our modules when it runs (target: under 1 s each;
every mapped fetch task pays it again).

Usage: python -m benchmarks.dag_parse [--repeat N]   Prints one JSON object (medians of N, each in
a fresh interpreter so module caches do not help; Airflow's own import is excluded).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROBE = """
import json, os, sys, time
from airflow.dag_processing.dagbag import DagBag
started = time.perf_counter()
bag = DagBag(dag_folder=sys.argv[1])
print(json.dumps({"seconds": time.perf_counter() - started, "dags": len(bag.dags), "errors": len(bag.import_errors)}))
"""


# What each task of axiswatch_ingest imports when it runs: the orchestration module, then what its
# step imports on demand (see axiswatch/orchestration.py and axiswatch/steps.py).
TASK_IMPORTS = {
    "prepare": ["axiswatch.orchestration", "axiswatch.steps", "transform.tagging", "warehouse.runs", "warehouse.load"],
    "fetch_feeds": ["axiswatch.orchestration", "axiswatch.steps", "ingest.feeds", "ingest.http"],
    "plan_pages": ["axiswatch.orchestration", "axiswatch.steps", "transform.articles", "warehouse.load"],
    "fetch_pages": ["axiswatch.orchestration", "axiswatch.steps", "ingest.pages", "ingest.http"],
    "load": ["axiswatch.orchestration", "axiswatch.steps", "warehouse.load", "warehouse.runs", "warehouse.rows"],
    "tag": ["axiswatch.orchestration", "axiswatch.steps", "warehouse.tags", "transform.tagging", "warehouse.runs"],
    "cluster": ["axiswatch.orchestration", "axiswatch.steps", "warehouse.clusters", "warehouse.runs"],
    "index": ["axiswatch.orchestration", "axiswatch.steps", "warehouse.search"],
    "publish": ["axiswatch.orchestration", "axiswatch.steps", "axiswatch.ops", "warehouse.runs", "warehouse.report",
                "warehouse.search", "warehouse.snapshot"],
}
IMPORT_PROBE = """
import importlib, json, sys, time
started = time.process_time()
for name in sys.argv[1:]:
    importlib.import_module(name)
print(json.dumps({"cpu_seconds": time.process_time() - started}))
"""


def task_import_cpu(repeat: int) -> dict[str, float]:
    """Median CPU seconds of each task's imports, each measured in a fresh interpreter."""
    medians = {}
    for task, modules in TASK_IMPORTS.items():
        seconds = []
        for _ in range(repeat):
            out = subprocess.run([sys.executable, "-c", IMPORT_PROBE, *modules], cwd=ROOT, capture_output=True,
                                 text=True, check=True)
            seconds.append(json.loads(out.stdout.strip().splitlines()[-1])["cpu_seconds"])
        medians[task] = round(statistics.median(seconds), 3)
    return medians


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as home:
        env = {**os.environ, "AIRFLOW_HOME": home, "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
               "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR"}
        runs = []
        for _ in range(args.repeat):
            out = subprocess.run([sys.executable, "-c", PROBE, str(ROOT / "dags")], env=env, capture_output=True,
                                 text=True, check=True)
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
    seconds = [r["seconds"] for r in runs]
    print(json.dumps({"benchmark": "dag_parse", "dags": runs[0]["dags"], "import_errors": runs[0]["errors"],
                      "median_seconds": round(statistics.median(seconds), 3), "max_seconds": round(max(seconds), 3),
                      "task_import_cpu_s": task_import_cpu(args.repeat), "repeat": args.repeat}))


if __name__ == "__main__":
    main()
