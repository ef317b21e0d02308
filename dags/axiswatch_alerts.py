"""axiswatch_alerts: runs whenever axiswatch_ingest updates the warehouse Asset, so alerts follow
each successful load. Queues qualifying stories in the outbox and delivers what is due; a channel
that is down keeps its alerts for the next run."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import Asset, dag, task

from axiswatch.ops import task_failed  # light: logging and os only

CONFIG = os.environ.get("AXISWATCH_CONFIG", "config/settings.yaml")
WAREHOUSE = Asset(name="axiswatch_warehouse", uri="file:///axiswatch/warehouse")



@dag(
    dag_id="axiswatch_alerts",
    schedule=[WAREHOUSE],
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["axiswatch", "alerts"],
    default_args={"retries": 2, "retry_delay": timedelta(minutes=2), "on_failure_callback": task_failed},
    doc_md=__doc__,
)
def axiswatch_alerts():
    @task(pool="axiswatch_warehouse")
    def send_alerts(run_id=None) -> dict:
        from axiswatch.orchestration import send_alerts as step

        result = step(CONFIG, run_id)
        print("axiswatch alerts:", result)
        return result

    send_alerts()


axiswatch_alerts()
