#!/usr/bin/env bash
# make airflow-demo: a throwaway Airflow (SQLite metadata DB) runs axiswatch_ingest once over the
# demo corpus with `airflow dags test`, then prints the run's state and summary. Everything goes in
# a temporary folder (nothing in the repository); the demo server takes a free port; exit 1 when the
# server does not start, the run fails, or no feed was fetched.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
WORK=$(mktemp -d)
SERVER=""
cleanup() { [ -n "$SERVER" ] && kill "$SERVER" 2> /dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
fail() { echo "airflow-demo failed: $*" >&2; exit 1; }

export AIRFLOW_HOME="$WORK/airflow"
export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="sqlite:///$WORK/airflow/airflow.db"
export AIRFLOW__CORE__DAGS_FOLDER="$ROOT/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__LOGGING__LOGGING_LEVEL=WARNING
export AXISWATCH_HOME="$ROOT"
export AXISWATCH_CONFIG="$WORK/settings.yaml"
export AXISWATCH_DEADLINE_MINUTES=0   # Airflow 3.3.2's `dags test` cannot run a DAG with a deadline
export PYTHONDONTWRITEBYTECODE=1
mkdir -p "$AIRFLOW_HOME"

.venv/bin/axiswatch demo-server --port 0 2> "$WORK/server.log" &
SERVER=$!
PORT=""
for _ in $(seq 1 60); do
  PORT=$(sed -n 's|.*http://127.0.0.1:\([0-9]*\)/.*|\1|p' "$WORK/server.log")
  [ -n "$PORT" ] && break
  kill -0 "$SERVER" 2> /dev/null || fail "demo server exited: $(cat "$WORK/server.log")"
  sleep 0.5
done
[ -n "$PORT" ] || fail "demo server did not start in 30 s: $(cat "$WORK/server.log")"
sed "s|127.0.0.1:8765|127.0.0.1:$PORT|g" demo/feeds.yaml > "$WORK/feeds.yaml"
cat > "$AXISWATCH_CONFIG" <<YAML
feeds_file: $WORK/feeds.yaml
database: $WORK/airflow-demo.duckdb
staging_dir: $WORK/staging
reports_dir: $WORK/reports
backups_dir: $WORK/backups
export_dir: $WORK/export
http:
  allow_networks: ["127.0.0.1/32"]
  retries: 1
  backoff_base: 0.2
YAML
echo "== demo corpus on http://127.0.0.1:$PORT/"

echo "== migrating a temporary Airflow metadata database in $AIRFLOW_HOME"
AIRFLOW_BIN=.venv/bin/airflow bash scripts/airflow_init.sh > "$WORK/init.log" 2>&1 || { cat "$WORK/init.log"; fail "airflow-init"; }
echo "== airflow dags test axiswatch_ingest"
status=0
.venv/bin/airflow dags test axiswatch_ingest 2026-11-26T02:00:00+00:00 > "$WORK/run.log" 2>&1 || status=$?
grep -E "axiswatch run summary|Dag run .* (success|failed)|ERROR" "$WORK/run.log" | tail -20 || true
[ "$status" -eq 0 ] || { tail -40 "$WORK/run.log"; fail "airflow dags test exited with $status"; }
echo "== warehouse"
.venv/bin/python - "$WORK/airflow-demo.duckdb" <<'PY'
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
rows = con.execute("SELECT run_id, status, feeds_ok, feeds_failed, articles_new, duplicates, axis_new FROM pipeline_runs").fetchall()
for row in rows:
    print("run:", row)
print("axis stories:", con.execute("SELECT count(*) FROM v_axis_stories").fetchone()[0])
if not rows or rows[-1][1] != "finished" or not rows[-1][2] or rows[-1][3] or not rows[-1][4]:
    sys.exit("airflow-demo failed: the run did not finish with every feed fetched and new articles stored")
PY
echo "== airflow-demo: ok"
