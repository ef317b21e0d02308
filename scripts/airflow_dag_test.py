"""Run one axiswatch DAG once with ``dag.test()`` on a throwaway SQLite metadata database and print
a JSON line with the run's state, task states and the ingest summary.

Used by the test suite and by `make airflow-demo`. Airflow reads its settings when first
imported, so call this as a script with the environment prepared (see `airflow_env` below).
Usage: python scripts/airflow_dag_test.py DAG_ID [--logical-date ISO] [--conf JSON] [--times N]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def airflow_env(airflow_home: Path) -> dict:
    """Environment for an isolated Airflow: its own home and SQLite DB, our DAGs, no examples."""
    return {
        "AIRFLOW_HOME": str(airflow_home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{airflow_home / 'airflow.db'}",
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
        "AXISWATCH_HOME": str(ROOT),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dag_id")
    parser.add_argument("--logical-date", default="2026-11-26T02:00:00+00:00")
    parser.add_argument("--conf", default="{}")
    parser.add_argument("--times", type=int, default=1, help="run the same logical date this many times")
    args = parser.parse_args()
    if "AIRFLOW_HOME" not in os.environ:
        sys.exit("set the Airflow environment first (see airflow_env in this file)")

    from airflow.dag_processing.dagbag import DagBag
    from airflow.utils import db

    db.initdb()
    bag = DagBag(dag_folder=str(ROOT / "dags"))
    if bag.import_errors:
        sys.exit(f"DAG import errors: {bag.import_errors}")
    dag = bag.dags[args.dag_id]
    logical = datetime.fromisoformat(args.logical_date)
    for attempt in range(args.times):
        run = dag.test(logical_date=logical, run_conf=json.loads(args.conf))
        tis = {f"{ti.task_id}[{ti.map_index}]" if ti.map_index >= 0 else ti.task_id: str(ti.state)
               for ti in run.get_task_instances()}
        summary = None
        xcom_bytes = {}  # the largest return value of each task, as JSON
        for ti in run.get_task_instances():
            value = ti.xcom_pull(task_ids=ti.task_id, map_indexes=ti.map_index if ti.map_index >= 0 else None)
            size = len(json.dumps(value, default=str)) if value is not None else 0
            xcom_bytes[ti.task_id] = max(size, xcom_bytes.get(ti.task_id, 0))
            if ti.task_id == "publish":
                summary = value
        print(json.dumps({"attempt": attempt + 1, "run_id": run.run_id, "state": str(run.state),
                          "tasks": tis, "summary": summary, "xcom_bytes": xcom_bytes}, default=str), flush=True)


if __name__ == "__main__":
    main()
