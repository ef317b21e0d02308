"""No Docker engine here: check the deployment files statically, and run the same init script
the compose `airflow-init` service runs against a throwaway SQLite metadata database."""

import os
import re
import subprocess
import sys

import pytest
import yaml

AIRFLOW_SERVICES = {"airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                    "airflow-triggerer", "airflow-worker"}


def compose(repo_root):
    return yaml.safe_load((repo_root / "docker/docker-compose.yaml").read_text(encoding="utf-8"))


def test_compose_has_a_real_celery_deployment(repo_root):
    doc = compose(repo_root)
    services = doc["services"]
    assert AIRFLOW_SERVICES | {"postgres", "redis"} <= set(services)
    for name in AIRFLOW_SERVICES:
        svc = services[name]
        assert svc["image"] == "axiswatch-airflow:latest" and svc["build"]["dockerfile"] == "docker/Dockerfile"
        assert "axiswatch-data:/opt/axiswatch/data" in svc["volumes"]
        assert svc["env_file"] == ["airflow.env"]
        for dep in svc["depends_on"]:
            assert dep in services
    assert services["airflow-worker"]["command"] == ["airflow", "celery", "worker"]
    assert set(doc["volumes"]) >= {"axiswatch-data", "postgres-data"}
    env = (repo_root / "docker/airflow.env").read_text()
    assert "AIRFLOW__CORE__EXECUTOR=CeleryExecutor" in env and "redis://redis" in env


def test_no_secrets_in_tracked_config(repo_root):
    for path in ["docker/docker-compose.yaml", "docker/airflow.env", "config/settings.yaml", "docker/settings.lake.yaml"]:
        # compose's ${VAR} references are not values: the values are in docker/.env
        text = re.sub(r"[\"']?\$\{[^}]*\}[\"']?", "", (repo_root / path).read_text())
        assert not re.search(r"(PASSWORD|SECRET|FERNET|WEBHOOK)\w*[ \t]*[=:][ \t]*\S{4,}", text), path


def test_dockerfile_installs_from_the_lock_and_ships_what_commands_use(repo_root):
    text = (repo_root / "docker/Dockerfile").read_text()
    assert text.startswith("# ") and "FROM apache/airflow:${AIRFLOW_VERSION}-python3.11" in text
    lock = (repo_root / "uv.lock").read_text()
    version = re.search(r'ARG AIRFLOW_VERSION=(\S+)', text).group(1)
    assert f'name = "apache-airflow"\nversion = "{version}"' in lock  # the image's Airflow is the locked one
    assert "uv export --frozen --no-dev --extra cluster" in text
    assert "constraints-${AIRFLOW_VERSION}/constraints-3.11.txt" in text and "--constraint" in text
    assert f'"apache-airflow==${{AIRFLOW_VERSION}}" -r /tmp/requirements.txt' in text and "pip check" in text
    for folder in ("axiswatch", "ingest", "transform", "warehouse", "dags", "config", "scripts"):
        assert f"COPY --chown=airflow:root {folder} ./{folder}" in text
    commands = [" ".join(s["command"]) for s in compose(repo_root)["services"].values() if "command" in s]
    for command in commands:
        for script in re.findall(r"/opt/axiswatch/(scripts/\S+)", command):
            assert (repo_root / script).exists(), script


def test_init_script_migrates_and_creates_the_pool(repo_root, tmp_path):
    sys.path.insert(0, str(repo_root / "scripts"))
    from airflow_dag_test import airflow_env

    env = {**os.environ, **airflow_env(tmp_path), "AIRFLOW_BIN": str(repo_root / ".venv/bin/airflow")}
    if not (repo_root / ".venv/bin/airflow").exists():
        env["AIRFLOW_BIN"] = "airflow"
    run = subprocess.run(["bash", str(repo_root / "scripts/airflow_init.sh")], env=env, capture_output=True,
                         text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    pools = subprocess.run([env["AIRFLOW_BIN"], "pools", "get", "axiswatch_warehouse"], env=env,
                           capture_output=True, text=True, timeout=120)
    assert pools.returncode == 0 and "axiswatch_warehouse" in pools.stdout


def test_multi_machine_lake_catalog_in_postgres_and_files_on_the_shared_volume(repo_root):
    """PostgreSQL holds Airflow's metadata and the DuckLake catalog in separate databases; the
    lake's files are on the volume every worker mounts."""
    from axiswatch.config import load_settings
    from warehouse.location import Location

    doc = compose(repo_root)
    init = "./postgres-init.sql:/docker-entrypoint-initdb.d/10-axiswatch-lake.sql:ro"
    assert init in doc["services"]["postgres"]["volumes"]
    sql = (repo_root / "docker/postgres-init.sql").read_text()
    env = dict(line.split("=", 1) for line in (repo_root / "docker/airflow.env").read_text().splitlines()
               if line and not line.startswith("#"))
    settings = load_settings(repo_root / env["AXISWATCH_CONFIG"])
    location = Location.parse(settings.database)
    assert location.is_lake and location.catalog_kind == "postgres"
    dbname = re.search(r"dbname=(\w+)", location.target).group(1)
    assert f"CREATE DATABASE {dbname}" in sql and dbname != doc["services"]["postgres"]["environment"]["POSTGRES_DB"]
    assert "host=postgres" in location.target and "password" not in location.target.lower()
    mount = "/opt/axiswatch/data"
    assert location.data_path.startswith(mount + "/")
    assert all(f"axiswatch-data:{mount}" in doc["services"][s]["volumes"] for s in AIRFLOW_SERVICES)
    assert "PGPASSWORD" in doc["services"]["airflow-worker"]["environment"]
    assert f"COPY --chown=airflow:root {env['AXISWATCH_CONFIG']} ./{env['AXISWATCH_CONFIG']}" in (repo_root / "docker/Dockerfile").read_text()


def test_every_service_is_healthchecked_and_waits_for_healthy_dependencies(repo_root):
    services = compose(repo_root)["services"]
    for name, svc in services.items():
        if name != "airflow-init":  # a one-shot job: the others wait for it to complete
            assert svc["healthcheck"]["test"], name
        for dep, condition in svc.get("depends_on", {}).items():
            expected = "service_completed_successfully" if dep == "airflow-init" else "service_healthy"
            assert condition == {"condition": expected}, (name, dep)
    for name in ("airflow-scheduler", "airflow-triggerer", "airflow-worker"):
        assert "airflow-apiserver" in services[name]["depends_on"], name  # they call the execution API
    # Healthy only once the execution API is built (its first request is slow), as the local cluster waits.
    sys.path.insert(0, str(repo_root / "scripts"))
    from cluster import EXECUTION_HEALTH

    assert f"localhost:8080{EXECUTION_HEALTH}" in services["airflow-apiserver"]["healthcheck"]["test"][-1]
    env = dict(line.split("=", 1) for line in (repo_root / "docker/airflow.env").read_text().splitlines()
               if line and not line.startswith("#"))
    assert env["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://airflow-apiserver:8080/execution/"
    assert env["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"] == "True"  # the scheduler's healthcheck URL


def test_each_secret_reaches_only_the_services_that_use_it(repo_root):
    """The env file compose reads (--env-file docker/.env, copied from .env.example) names each
    secret once; compose hands it only to the services listed here."""
    sys.path.insert(0, str(repo_root / "scripts"))
    from cluster import read_env_file, service_environment

    example = read_env_file(repo_root / "docker/.env.example")
    assert set(example) == {"POSTGRES_PASSWORD", "AIRFLOW_JWT_SECRET", "AIRFLOW_FERNET_KEY", "AXISWATCH_OPS_WEBHOOK"}
    marker = {k: f"<{k}>" for k in example}
    services = compose(repo_root)["services"]
    holders = {k: set() for k in example}
    for name in services:
        for value in service_environment(name, marker).values():
            for key, mark in marker.items():
                if mark in value:
                    holders[key].add(name)
    assert holders["POSTGRES_PASSWORD"] == set(services) - {"redis"}
    assert holders["AIRFLOW_JWT_SECRET"] == {"airflow-apiserver", "airflow-scheduler", "airflow-triggerer"}
    assert holders["AXISWATCH_OPS_WEBHOOK"] == {"airflow-worker", "airflow-dag-processor", "airflow-triggerer"}
    assert "airflow-worker" not in holders["AIRFLOW_JWT_SECRET"] and "postgres" not in holders["AXISWATCH_OPS_WEBHOOK"]
    compose_text = (repo_root / "docker/docker-compose.yaml").read_text()
    assert "--env-file docker/.env " in compose_text and "docker/.env" in (repo_root / ".gitignore").read_text()
    assert "POSTGRES_PASSWORD" in (repo_root / "README.md").read_text().split("### Deploying with Docker")[1]


def test_cluster_demo_runs_each_service_with_exactly_its_compose_variables(repo_root, tmp_path):
    """`make cluster-demo` builds every process's environment from the compose files; only host,
    port and path values differ, plus the few local-only variables it names. A variable added to
    compose reaches the demo, and the demo cannot set one compose does not know."""
    sys.path.insert(0, str(repo_root / "scripts"))
    from cluster import LOCAL_ONLY, SETTINGS_PLACES, Cluster, Ports, compose as cluster_compose

    cluster = Cluster(folder=tmp_path, ports=Ports(postgres=5999, redis=6999, api=7999))  # nothing started
    services = cluster_compose()["services"]
    settings_vars = {f"AXISWATCH_{k.upper()}" for k in SETTINGS_PLACES}
    for name, svc in services.items():
        if "image" not in svc or not svc.get("env_file"):
            continue
        env = cluster.env(name)
        mine = {k for k in env if k.startswith(("AIRFLOW", "AXISWATCH_", "PG", "POSTGRES"))}
        expected = set(__import__("cluster").service_environment(name, cluster.variables))
        assert mine - expected <= set(LOCAL_ONLY) | settings_vars, (name, mine - expected)
        assert expected <= mine, name
        for key, value in env.items():
            if key in expected:
                assert "postgres/" not in value and "redis://redis" not in value and "/opt/axiswatch" not in value, key
    worker = cluster.env("airflow-worker")
    assert worker["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"] == "http://127.0.0.1:7999/execution/"
    assert worker["AIRFLOW__CELERY__BROKER_URL"] == "redis://127.0.0.1:6999/0"
    assert "@127.0.0.1:5999/airflow" in worker["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]
    assert worker["AXISWATCH_LAKE_CATALOG"] == "postgres:dbname=axiswatch_lake host=127.0.0.1 port=5999 user=airflow"
    assert worker["AXISWATCH_STAGING_DIR"] == str(tmp_path / "data/staging")
    assert worker["PGPASSWORD"] == cluster.variables["POSTGRES_PASSWORD"]


def test_the_cluster_extra_is_locked(repo_root):
    """What the deployment imports (CeleryExecutor, Redis broker, PostgreSQL metadata DB) is pinned."""
    import tomllib

    project = tomllib.loads((repo_root / "pyproject.toml").read_text())
    extra = project["project"]["optional-dependencies"]["cluster"]
    names = {re.split(r"[<>=\[ ]", r, maxsplit=1)[0] for r in extra}
    assert names == {"apache-airflow-providers-celery", "apache-airflow-providers-postgres", "celery", "redis",
                     "psycopg2-binary", "asyncpg"}
    lock = (repo_root / "uv.lock").read_text()
    for name in names:
        assert re.search(rf'^name = "{name}"\nversion = "[^"]+"', lock, flags=re.M), name
    assert 'provides-extras = ["cluster"]' in lock


def test_the_ci_entry_point_is_a_valid_script(repo_root):
    """CI runs `bash .ci/run` on a fresh clone: a quoting slip there fails every CI run (bash reads
    a script line by line, so the commands before the slip run and the run still fails)."""
    result = subprocess.run(["bash", "-n", str(repo_root / ".ci/run")], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_celery_workers_import_the_tasks_modules_once_when_they_start(repo_root):
    """docker/airflow.env names axiswatch's Celery settings, and the module they have each worker
    import leaves the page task's heavy imports in the worker's memory, so forked tasks inherit them."""
    env = dict(line.split("=", 1) for line in (repo_root / "docker/airflow.env").read_text().splitlines()
               if line and not line.startswith("#"))
    assert env["AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS"] == "axiswatch.celery_worker.CELERY_CONFIG"
    code = ("import sys\nassert 'trafilatura' not in sys.modules\nimport axiswatch.worker_imports\n"
            "import gc\nprint(gc.get_freeze_count() > 10000)\n"
            "print(sorted(m for m in ('trafilatura', 'datasketch', 'duckdb', 'py3langid', 'transform.early_tags')"
            " if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=repo_root, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split("\n")[-2] == str(sorted(["datasketch", "duckdb", "py3langid", "trafilatura",
                                                      "transform.early_tags"]))
    assert out.stdout.split("\n")[-3] == "True"  # what they imported is frozen: forked tasks' collectors skip it


def test_celery_settings_are_airflows_with_the_workers_imports():
    """Only the ``imports`` entry differs from Airflow's own Celery settings (needs the Celery
    provider: the cluster extra, which ``make cluster-install`` adds)."""
    pytest.importorskip("airflow.providers.celery")
    from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG

    from axiswatch.celery_worker import CELERY_CONFIG

    assert {k: v for k, v in CELERY_CONFIG.items() if k != "imports"} == DEFAULT_CELERY_CONFIG
    assert "axiswatch.worker_imports" in CELERY_CONFIG["imports"]
