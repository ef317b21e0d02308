"""A real axiswatch cluster on this machine, built from the files docker/compose uses.

PostgreSQL (Airflow's metadata and the DuckLake catalog) and Redis (the Celery broker) from
Debian's packages, then Airflow's api-server, scheduler, dag-processor, triggerer and Celery
workers, each process with the environment its compose service gets: docker/airflow.env plus the
service's ``environment`` with ``${VARS}`` filled from docker/.env.example. Only host names, ports
and paths are rewritten (``localize``), so the cluster and the compose file cannot drift apart
(tests/test_docker.py holds them to the same variable names). Everything lives in one temporary
folder; ``Cluster.stop`` ends every process this module started.

Used by `make cluster-demo` (scripts/cluster_demo.py), the fault tests (tests/test_cluster_faults.py)
and `make bench-cluster` (benchmarks/cluster.py).
"""

from __future__ import annotations

import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
DOCKER = ROOT / "docker"
COMPOSE_MOUNT = "/opt/axiswatch"  # where compose puts the project (and /data, the shared volume)
# What the api-server's healthcheck asks last (docker-compose.yaml), and the local cluster waits for.
EXECUTION_HEALTH = "/execution/health"
SERVICES = ("airflow-apiserver", "airflow-scheduler", "airflow-dag-processor", "airflow-triggerer")
# Set by the local cluster on top of the compose environment, and why:
LOCAL_ONLY = {
    "AIRFLOW_HOME": "one temporary folder per cluster",
    "AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": "two workers on one host need two log ports",
    "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": "free port instead of 8794",
    "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": "free port instead of 8974",
    "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False: only the runs the demo triggers (no 02:00 run on unpause)",
    "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False: the demo does not unpause by hand",
    "PYTHONDONTWRITEBYTECODE": "nothing written into the repository",
}


# Keys of the compose settings file that name a host or a place on the shared volume.
SETTINGS_PLACES = ("lake_catalog", "lake_data_path", "staging_dir", "reports_dir", "backups_dir", "export_dir")


class ClusterError(RuntimeError):
    """A part of the cluster did not start or a run did not finish."""


def read_env_file(path: Path) -> dict[str, str]:
    """KEY=VALUE lines of a compose env file (comments and blank lines skipped)."""
    env = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            env[key.strip()] = value.strip()
    return env


def compose() -> dict:
    return yaml.safe_load((DOCKER / "docker-compose.yaml").read_text(encoding="utf-8"))


_VAR = re.compile(r"\$\{(\w+)(?::?[-?][^}]*)?\}")


def interpolate(value: str, variables: dict[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?message}`` from the env file."""

    def one(match: re.Match) -> str:
        name = match.group(1)
        if name in variables:
            return variables[name]
        rest = match.group(0)[len(name) + 2 : -1]
        if rest.startswith((":-", "-")):
            return rest.split("-", 1)[1]
        raise ClusterError(f"docker/.env.example does not set {name}, which docker-compose.yaml needs")

    return _VAR.sub(one, value)


def service_environment(service: str, variables: dict[str, str] | None = None) -> dict[str, str]:
    """What one compose service's container sees: its env_file(s) then its ``environment``."""
    variables = variables if variables is not None else read_env_file(DOCKER / ".env.example")
    svc = compose()["services"][service]
    env: dict[str, str] = {}
    for name in svc.get("env_file", []):
        env.update(read_env_file(DOCKER / name))
    environment = svc.get("environment", {})
    if isinstance(environment, list):
        environment = dict(item.split("=", 1) for item in environment)
    env.update({k: interpolate(str(v), variables) for k, v in environment.items()})
    return env


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Ports:
    postgres: int = field(default_factory=free_port)
    redis: int = field(default_factory=free_port)
    api: int = field(default_factory=free_port)


def localize(value: str, ports: Ports, data: Path) -> str:
    """A compose value for this machine: service host names become 127.0.0.1 and a free port,
    the shared volume becomes the cluster's data folder, the project folder this checkout."""
    value = value.replace("@postgres/", f"@127.0.0.1:{ports.postgres}/")
    value = value.replace("host=postgres", f"host=127.0.0.1 port={ports.postgres}")
    value = value.replace("redis://redis:6379", f"redis://127.0.0.1:{ports.redis}")
    value = value.replace("http://airflow-apiserver:8080", f"http://127.0.0.1:{ports.api}")
    value = value.replace("http://localhost:8080", f"http://127.0.0.1:{ports.api}")
    value = value.replace(f"{COMPOSE_MOUNT}/data", str(data))
    return value.replace(COMPOSE_MOUNT, str(ROOT))


def _bin_dir(pattern: str, name: str) -> Path:
    found = sorted(glob.glob(pattern), reverse=True)
    if found:
        return Path(found[0]).parent
    raise ClusterError(f"{name} not installed (run scripts/cluster_packages.sh)")


def _as(user: str, command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root: run its binaries as ``postgres`` then."""
    return ["runuser", "-u", user, "--", *command] if os.geteuid() == 0 else command


def _wait_port(port: int, seconds: float, what: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise ClusterError(f"{what} exited with {proc.returncode} before listening on {port}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.5)
    raise ClusterError(f"{what} not listening on 127.0.0.1:{port} after {seconds:.0f}s")


class Cluster:
    """One cluster in one temporary folder. ``start()`` brings everything up; ``stop()`` ends
    every process started here (process groups, TERM then KILL)."""

    def __init__(self, workers: int = 2, settings_env: dict[str, str] | None = None, folder: Path | None = None,
                 ports: Ports | None = None) -> None:
        self.folder = folder or Path(tempfile.mkdtemp(prefix="axiswatch-cluster-"))
        os.chmod(self.folder, 0o755)  # the postgres user must reach its data folder
        self.data = self.folder / "data"
        self.data.mkdir(exist_ok=True)
        self.ports = ports or Ports()
        self.variables = read_env_file(DOCKER / ".env.example")
        self.workers = workers
        self.settings_env = settings_env or {}
        self.procs: dict[str, subprocess.Popen] = {}
        self.pg_data = self.folder / "pg"
        self.redis_bin = shutil.which("redis-server") or "/usr/bin/redis-server"

    @property
    def pg_bin(self) -> Path:
        return _bin_dir("/usr/lib/postgresql/*/bin/pg_ctl", "PostgreSQL")

    # -- configuration -------------------------------------------------------------------------
    def env(self, service: str, extra: dict[str, str] | None = None) -> dict[str, str]:
        """The environment of one process: the compose service's, localized, plus LOCAL_ONLY."""
        base = {k: v for k, v in os.environ.items() if not k.startswith(("AIRFLOW", "AXISWATCH_", "PG"))}
        compose_env = {k: localize(v, self.ports, self.data) for k, v in service_environment(service, self.variables).items()}
        local = {
            "AIRFLOW_HOME": str(self.folder / "airflow"),
            "AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT": str(free_port()),
            "AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT": str(free_port()),
            "AIRFLOW__SCHEDULER__USE_JOB_SCHEDULE": "False",
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "False",
            "PYTHONDONTWRITEBYTECODE": "1",
        }
        return {**base, **compose_env, **self.settings_overrides(compose_env), **local, **self.settings_env,
                **(extra or {})}

    def settings_overrides(self, compose_env: dict[str, str]) -> dict[str, str]:
        """The compose settings file's host and path keys for this machine, as AXISWATCH_* variables
        (the file itself is used as is): its catalog on the local PostgreSQL, its data folders in
        the cluster's temporary folder instead of the project's data/."""
        if "AXISWATCH_CONFIG" not in compose_env:
            return {}
        settings = yaml.safe_load((ROOT / compose_env["AXISWATCH_CONFIG"]).read_text(encoding="utf-8")) or {}
        out = {}
        for key in SETTINGS_PLACES:
            if key in settings:
                value = str(settings[key])
                if key != "lake_catalog" and not value.startswith("/"):
                    value = f"{COMPOSE_MOUNT}/{value}"
                out[f"AXISWATCH_{key.upper()}"] = localize(value, self.ports, self.data)
        return out

    def airflow(self, *args: str, service: str = "airflow-scheduler", timeout: float = 300) -> str:
        """An ``airflow`` CLI command with a service's environment; its output, or ClusterError."""
        run = subprocess.run([str(ROOT / ".venv/bin/airflow"), *args], env=self.env(service), cwd=self.folder,
                             capture_output=True, text=True, timeout=timeout)
        if run.returncode:
            raise ClusterError(f"airflow {' '.join(args)} failed:\n{(run.stdout + run.stderr)[-3000:]}")
        return run.stdout

    # -- processes ----------------------------------------------------------------------------
    def spawn(self, name: str, command: list[str], env: dict[str, str]) -> subprocess.Popen:
        log = open(self.folder / f"{name}.log", "ab")
        proc = subprocess.Popen(command, env=env, cwd=self.folder, stdout=log, stderr=subprocess.STDOUT,
                                start_new_session=True)
        self.procs[name] = proc
        return proc

    def start_postgres(self) -> None:
        env = self.env("postgres")
        password = env["POSTGRES_PASSWORD"]
        self.pg_data.parent.mkdir(exist_ok=True)
        pwfile = self.folder / "pgpass"
        pwfile.write_text(password + "\n")
        if os.geteuid() == 0:
            shutil.chown(pwfile, "postgres")
            os.makedirs(self.pg_data, exist_ok=True)
            shutil.chown(self.pg_data, "postgres", "postgres")
        user = env["POSTGRES_USER"]
        subprocess.run(_as("postgres", [str(self.pg_bin / "initdb"), "-D", str(self.pg_data), "-U", user,
                                        "--pwfile", str(pwfile), "--auth-local=trust", "--auth-host=scram-sha-256",
                                        "--no-sync"]), check=True, capture_output=True, timeout=180)
        pwfile.unlink()
        options = (f"-p {self.ports.postgres} -c listen_addresses=127.0.0.1 -k {self.pg_data} -c fsync=off "
                   "-c max_connections=200")
        log = self.folder / "postgres.log"
        if os.geteuid() == 0:
            log.touch()
            shutil.chown(log, "postgres")
        subprocess.run(_as("postgres", [str(self.pg_bin / "pg_ctl"), "-D", str(self.pg_data), "-o", options,
                                        "-l", str(log), "-w", "-t", "120", "start"]),
                       check=True, capture_output=True, timeout=180)
        # What the postgres image does on an empty volume: POSTGRES_DB, then docker-entrypoint-initdb.d.
        psql = [str(self.pg_bin / "psql"), "-h", str(self.pg_data), "-p", str(self.ports.postgres), "-U", user,
                "-v", "ON_ERROR_STOP=1"]
        subprocess.run(_as("postgres", [*psql, "-d", "postgres", "-c", f"CREATE DATABASE {env['POSTGRES_DB']}"]),
                       check=True, capture_output=True, timeout=60)
        subprocess.run(_as("postgres", [*psql, "-d", env["POSTGRES_DB"], "-f", str(DOCKER / "postgres-init.sql")]),
                       check=True, capture_output=True, timeout=60)

    def stop_postgres(self, mode: str = "fast") -> None:
        subprocess.run(_as("postgres", [str(self.pg_bin / "pg_ctl"), "-D", str(self.pg_data), "-m", mode, "-w",
                                        "stop"]), capture_output=True, timeout=120)

    def restart_postgres(self) -> None:
        options = f"-p {self.ports.postgres} -c listen_addresses=127.0.0.1 -k {self.pg_data} -c fsync=off -c max_connections=200"
        subprocess.run(_as("postgres", [str(self.pg_bin / "pg_ctl"), "-D", str(self.pg_data), "-o", options, "-l",
                                        str(self.folder / "postgres.log"), "-w", "-t", "120", "start"]),
                       check=True, capture_output=True, timeout=180)

    def start_redis(self) -> None:
        folder = self.folder / "redis"
        folder.mkdir(exist_ok=True)
        # appendonly: a restarted broker still holds the queued task messages (as a redis volume would).
        proc = self.spawn("redis", [self.redis_bin, "--port", str(self.ports.redis), "--bind", "127.0.0.1",
                                    "--dir", str(folder), "--appendonly", "yes", "--save", "", "--daemonize", "no"],
                          {"PATH": os.environ.get("PATH", "")})
        _wait_port(self.ports.redis, 30, "redis", proc)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        proc = self.procs[name]
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            pass
        proc.wait(timeout=60)

    def start_airflow(self) -> None:
        airflow = str(ROOT / ".venv/bin/airflow")
        init = subprocess.run(["bash", str(ROOT / "scripts/airflow_init.sh")],
                              env=self.env("airflow-init", {"AIRFLOW_BIN": airflow}), cwd=self.folder,
                              capture_output=True, text=True, timeout=600)
        if init.returncode:
            raise ClusterError(f"airflow-init failed:\n{(init.stdout + init.stderr)[-3000:]}")
        api = self.spawn("airflow-apiserver", [airflow, "api-server", "--port", str(self.ports.api), "--host", "127.0.0.1"],
                         self.env("airflow-apiserver"))
        for service in SERVICES[1:]:
            command = compose()["services"][service]["command"]
            self.spawn(service, [airflow, *command[1:]], self.env(service))
        for n in range(1, self.workers + 1):
            self.start_worker(n)
        _wait_port(self.ports.api, 300, "airflow api-server", api)
        self.wait_for_execution_api()

    def wait_for_execution_api(self, seconds: float = 120) -> None:
        """Until the api-server's execution API answers its health check, as compose's healthcheck
        of the api-server asks: the api-server builds that API on its first request (about 3 s,
        paid otherwise by the first task after a start)."""
        import httpx

        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.ports.api}{EXECUTION_HEALTH}", timeout=30).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        raise ClusterError(f"the api-server's execution API not healthy after {seconds:.0f}s:\n"
                           f"{self.log_tail('airflow-apiserver')}")

    def start_worker(self, n: int) -> subprocess.Popen:
        airflow = str(ROOT / ".venv/bin/airflow")
        command = compose()["services"]["airflow-worker"]["command"]
        env = self.env("airflow-worker", {"AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT": str(free_port())})
        return self.spawn(f"worker{n}", [airflow, *command[1:], "--celery-hostname", f"worker{n}@%h"], env)

    def start(self) -> None:
        self.start_postgres()
        self.start_redis()
        self.start_airflow()

    def check_alive(self) -> None:
        for name, proc in self.procs.items():
            if proc.poll() is not None and not name.startswith("worker"):
                raise ClusterError(f"{name} exited with {proc.returncode}; its log:\n{self.log_tail(name)}")

    def log_tail(self, name: str, chars: int = 3000) -> str:
        path = self.folder / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def stop(self, keep: bool = False) -> None:
        self.stop_processes()
        if self.pg_data.exists():
            self.stop_postgres("immediate")
        if not keep:
            shutil.rmtree(self.folder, ignore_errors=True)

    def stop_processes(self) -> None:
        """End every process started here but PostgreSQL (process groups, TERM then KILL)."""
        for proc in self.procs.values():
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + 30
        for proc in self.procs.values():
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(proc.pid, signal.SIGKILL)  # stragglers and their children
            except ProcessLookupError:
                pass
        self.procs.clear()

    # -- runs ---------------------------------------------------------------------------------
    def metadata(self):
        """A psycopg2 connection to Airflow's metadata database."""
        import psycopg2

        env = self.env("postgres")
        return psycopg2.connect(host="127.0.0.1", port=self.ports.postgres, user=env["POSTGRES_USER"],
                                password=env["POSTGRES_PASSWORD"], dbname=env["POSTGRES_DB"])

    def query(self, sql: str, *args) -> list[tuple]:
        con = self.metadata()
        try:
            with con.cursor() as cur:
                cur.execute(sql, args)
                return cur.fetchall()
        finally:
            con.close()

    def execute(self, sql: str, *args) -> None:
        """One statement outside a transaction (ALTER DATABASE and the like) on the metadata server."""
        con = self.metadata()
        con.autocommit = True
        try:
            with con.cursor() as cur:
                cur.execute(sql, args)
        finally:
            con.close()

    def wait_for_dag(self, dag_id: str, seconds: float = 300) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.check_alive()
            if self.query("SELECT 1 FROM dag WHERE dag_id = %s AND is_stale IS NOT TRUE", dag_id):
                return
            time.sleep(2)
        raise ClusterError(f"{dag_id} not parsed by the dag-processor after {seconds:.0f}s:\n"
                           f"{self.log_tail('airflow-dag-processor')}")

    def trigger(self, dag_id: str, run_id: str, conf: str | None = None) -> None:
        self.airflow("dags", "trigger", dag_id, "--run-id", run_id, *(["--conf", conf] if conf else []))

    def api(self, method: str, path: str, body: dict | None = None) -> dict:
        """One call to the api-server's REST API, logged in as the simple auth manager's generated
        admin; the answer's JSON, or ClusterError."""
        import httpx

        passwords = json.loads((self.folder / "airflow/simple_auth_manager_passwords.json.generated").read_text())
        user, password = next(iter(passwords.items()))
        with httpx.Client(base_url=f"http://127.0.0.1:{self.ports.api}", timeout=60) as client:
            login = client.post("/auth/token", json={"username": user, "password": password})
            if login.status_code >= 300:
                raise ClusterError(f"api-server login failed: {login.status_code} {login.text[:500]}")
            answer = client.request(method, path, json=body,
                                    headers={"Authorization": f"Bearer {login.json()['access_token']}"})
            if answer.status_code >= 300:
                raise ClusterError(f"{method} {path} failed: {answer.status_code} {answer.text[:500]}")
            return answer.json()

    def trigger_api(self, dag_id: str, run_id: str, conf: dict | None = None) -> None:
        """Trigger a run through the REST API, as a tool or a browser does: without the seconds an
        ``airflow`` command spends starting (not the cluster's time)."""
        self.api("POST", f"/api/v2/dags/{dag_id}/dagRuns", {"dag_run_id": run_id, "logical_date": None,
                                                            "conf": conf or {}})

    def run_end(self, dag_id: str, run_id: str) -> float:
        """When the run ended (epoch seconds, from Airflow's own record rather than a poll)."""
        rows = self.query("SELECT extract(epoch FROM end_date) FROM dag_run WHERE dag_id = %s AND run_id = %s",
                          dag_id, run_id)
        return float(rows[0][0])

    def wait_for_run(self, dag_id: str, run_id: str, seconds: float = 900) -> str:
        """The run's final state (success or failed); ClusterError after ``seconds``."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self.check_alive()
            rows = self.query("SELECT state FROM dag_run WHERE dag_id = %s AND run_id = %s", dag_id, run_id)
            if rows and rows[0][0] in ("success", "failed"):
                return rows[0][0]
            time.sleep(3)
        raise ClusterError(f"{dag_id} {run_id} not finished after {seconds:.0f}s")

    def task_states(self, dag_id: str, run_id: str) -> dict[str, int]:
        rows = self.query("SELECT state, count(*) FROM task_instance WHERE dag_id = %s AND run_id = %s GROUP BY state",
                          dag_id, run_id)
        return {str(state): n for state, n in rows}

    def python(self, code: str, *args: str, service: str = "airflow-worker", timeout: float = 300) -> str:
        """Python in a worker's environment (the settings a task sees)."""
        run = subprocess.run([str(ROOT / ".venv/bin/python"), "-c", code, *args], env=self.env(service), cwd=ROOT,
                             capture_output=True, text=True, timeout=timeout)
        if run.returncode:
            raise ClusterError(f"python in {service} failed:\n{run.stderr[-3000:]}")
        return run.stdout
