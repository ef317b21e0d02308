# axiswatch: `make demo` and `make test` work on a fresh machine with Python 3.11, pip and make.
PYTHON ?= python3
VENV   := .venv
UV     := .tools/bin/uv
BIN    := $(VENV)/bin

.PHONY: install demo test airflow-demo eval-tagging eval-dedup eval-events bench bench-tagging bench-clustering bench-dag-parse bench-growth bench-backends bench-startup bench-dead-hosts bench-verify bench-feed-memory bench-events bench-index-threads cluster-install cluster-demo cluster-faults bench-cluster bench-cluster-small clean

$(UV):
	$(PYTHON) -m venv .tools
	.tools/bin/pip install --quiet --disable-pip-version-check "uv==0.13.9"

# --compile-bytecode: without it every command compiled typer, DuckDB's and pyarrow's Python
# sources again wherever bytecode is not written (PYTHONDONTWRITEBYTECODE, read-only installs).
$(VENV)/.installed: pyproject.toml uv.lock | $(UV)
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --quiet --compile-bytecode
	touch $@

install: $(VENV)/.installed

demo: install
	$(BIN)/axiswatch demo

test: install
	$(BIN)/pytest -q

eval-tagging: install
	$(BIN)/python -m evaluation.tagging

airflow-demo: install
	bash scripts/airflow_demo.sh

bench: install
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --group bench --quiet
	$(BIN)/python -m benchmarks.night --feeds 500 --entries 50 --pages 10000 --hosts 50

bench-small: install
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --group bench --quiet
	$(BIN)/python -m benchmarks.night --feeds 50 --entries 20 --pages 400 --hosts 10 --baseline-pages 60

bench-growth: install
	$(BIN)/python -m benchmarks.growth --unit 100000 --multiples 0 1 5 10 --feeds 500 --entries 50 --pages 10000 --hosts 50

bench-backends: install
	$(BIN)/python -m benchmarks.backends --articles 1000000 --feeds 500 --entries 50 --pages 10000 --hosts 50

bench-dead-hosts: install
	$(BIN)/python -m benchmarks.dead_hosts --feeds 20 --pages 400 --refused-feeds 4 --good-pages 20

bench-verify: install
	$(BIN)/python -m benchmarks.verify --articles 1000000

bench-feed-memory: install
	$(BIN)/python -m benchmarks.feed_memory --shapes many long --feeds 8

bench-dag-parse: install
	$(BIN)/python -m benchmarks.dag_parse

bench-startup: install
	$(BIN)/python -m benchmarks.startup

eval-dedup: install
	$(BIN)/python -m evaluation.dedup

eval-events: install
	$(BIN)/python -m evaluation.supply_events

bench-clustering: install
	$(BIN)/python -m benchmarks.clustering --sizes 10000 100000

bench-tagging: install
	$(BIN)/python -m benchmarks.tagging --articles 5000

bench-index-threads: install
	$(BIN)/python -m benchmarks.index_threads --articles 8000 --threads 1 2 --rounds 2

bench-events: install
	$(BIN)/python -m benchmarks.supply_events --pages 300 --articles 300000

# A Celery cluster on this machine from docker/'s files (scripts/cluster.py): PostgreSQL, Redis,
# api-server, scheduler, dag-processor, triggerer and two workers in a temporary folder.
cluster-install: install
	bash scripts/cluster_packages.sh
	UV_PROJECT_ENVIRONMENT=$(VENV) $(UV) sync --frozen --extra cluster --quiet --compile-bytecode

cluster-demo: cluster-install
	$(BIN)/python scripts/cluster_demo.py

cluster-faults: cluster-install
	AXISWATCH_CLUSTER_TESTS=1 $(BIN)/pytest -q -p no:cacheprovider tests/test_cluster_faults.py \
		tests/test_docker.py::test_celery_settings_are_airflows_with_the_workers_imports

bench-cluster: cluster-install
	$(BIN)/python -m benchmarks.cluster --feeds 500 --entries 50 --pages 10000 --hosts 50

bench-cluster-small: cluster-install
	$(BIN)/python -m benchmarks.cluster --feeds 50 --entries 20 --pages 400 --hosts 10

clean:
	rm -rf $(VENV) .tools data/*.duckdb .pytest_cache
