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
