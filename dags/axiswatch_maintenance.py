"""axiswatch_maintenance: daily full rebuild of the search index (the nightly runs only index what
is new), checkpoint and backup of the DuckDB file, retention of staging folders and old fetch
logs, and a Parquet export (partitioned by day) for analysts."""

from __future__ import annotations

import os
from datetime import datetime, timedelta

from airflow.sdk import dag, task

from axiswatch.ops import task_failed  # light: logging and os only

CONFIG = os.environ.get("AXISWATCH_CONFIG", "config/settings.yaml")
POOL = "axiswatch_warehouse"



@dag(
    dag_id="axiswatch_maintenance",
    schedule=os.environ.get("AXISWATCH_MAINTENANCE_SCHEDULE", "30 5 * * *"),
    start_date=datetime(2026, 1, 1),
    catchup=False,
    max_active_runs=1,
    tags=["axiswatch", "maintenance"],
    default_args={"retries": 2, "retry_delay": timedelta(minutes=5), "on_failure_callback": task_failed},
    doc_md=__doc__,
)
def axiswatch_maintenance():
    @task(pool=POOL)
    def search_index() -> dict:
        from axiswatch.orchestration import settings_for
        from warehouse.maintenance import rebuild_search_index

        s = settings_for(CONFIG)
        return rebuild_search_index(s.database)

    @task(pool=POOL)
    def backup() -> str:
        from axiswatch.orchestration import settings_for
        from warehouse.maintenance import checkpoint_and_backup

        s = settings_for(CONFIG)
        return str(checkpoint_and_backup(s.database, s.backups_dir, s.backups_keep))

    @task(pool=POOL)
    def retention() -> dict:
        from axiswatch.orchestration import settings_for
        from warehouse.maintenance import apply_retention

        s = settings_for(CONFIG)
        return apply_retention(s.database, s.staging_dir, s.retention_days)

    @task(pool=POOL)
    def export() -> dict:
        from axiswatch.orchestration import settings_for
        from warehouse.maintenance import export_parquet

        s = settings_for(CONFIG)
        return export_parquet(s.database, s.export_dir)

    search_index() >> backup() >> retention() >> export()


axiswatch_maintenance()
