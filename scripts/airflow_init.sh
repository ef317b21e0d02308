#!/usr/bin/env bash
# One-time (and every-upgrade) Airflow setup for axiswatch: migrate the metadata database and
# create the one-slot pool that serializes warehouse writers. Idempotent. Used by the
# docker-compose `airflow-init` service, by `make airflow-demo` and by the test suite.
set -euo pipefail
AIRFLOW=${AIRFLOW_BIN:-airflow}
"$AIRFLOW" db migrate
"$AIRFLOW" pools set axiswatch_warehouse 1 "one writer at a time for the DuckDB warehouse"
echo "airflow-init: metadata database migrated, pool axiswatch_warehouse ready"
