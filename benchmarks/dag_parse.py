"""DAG parse time: how long Airflow takes to parse the whole dags/ folder (target: under 1 s).

Usage: python -m benchmarks.dag_parse [--repeat N]   Prints one JSON object (median of N parses,
each in a fresh interpreter so module caches do not help; Airflow's own import is excluded).
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
                      "repeat": args.repeat}))


if __name__ == "__main__":
    main()
