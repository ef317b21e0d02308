"""No Docker engine here: check the deployment files statically, and run the same init script
the compose `airflow-init` service runs against a throwaway SQLite metadata database."""

import os
import re
import subprocess
import sys

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
        assert {"airflow.env", "secrets.env"} <= set(svc["env_file"])
        for dep in svc["depends_on"]:
            assert dep in services
    assert services["airflow-worker"]["command"] == ["airflow", "celery", "worker"]
    assert set(doc["volumes"]) >= {"axiswatch-data", "postgres-data"}
    env = (repo_root / "docker/airflow.env").read_text()
    assert "AIRFLOW__CORE__EXECUTOR=CeleryExecutor" in env and "redis://redis" in env


def test_no_secrets_in_tracked_config(repo_root):
    for path in ["docker/docker-compose.yaml", "docker/airflow.env", "config/settings.yaml"]:
        text = (repo_root / path).read_text()
        assert not re.search(r"(PASSWORD|SECRET|FERNET|WEBHOOK)\w*\s*[=:]\s*\S{4,}", text), path


def test_dockerfile_installs_from_the_lock_and_ships_what_commands_use(repo_root):
    text = (repo_root / "docker/Dockerfile").read_text()
    assert text.startswith("# ") and "FROM apache/airflow:3.3" in text
    assert "uv export --frozen" in text
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
    assert "PGPASSWORD=" in (repo_root / "docker/secrets.env.example").read_text()
    assert f"COPY --chown=airflow:root {env['AXISWATCH_CONFIG']} ./{env['AXISWATCH_CONFIG']}" in (repo_root / "docker/Dockerfile").read_text()
