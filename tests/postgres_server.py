"""A throwaway PostgreSQL cluster for tests: initdb into a temporary folder, pg_ctl start on a
free local port, pg_ctl stop afterwards. Uses Debian's server binaries; as root it runs them as
the ``postgres`` user (initdb refuses root)."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path


def server_binaries() -> Path | None:
    """The folder holding initdb and pg_ctl, newest version first (None when not installed)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), reverse=True)
    if found:
        return Path(found[0]).parent
    pg_ctl = shutil.which("pg_ctl")
    return Path(pg_ctl).parent if pg_ctl else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class PostgresCluster:
    folder: Path
    port: int
    user: str

    def dsn(self, dbname: str = "postgres") -> str:
        """A libpq connection string (what DuckLake's postgres catalog takes)."""
        return f"dbname={dbname} host=127.0.0.1 port={self.port} user={self.user}"


def _as_owner(command: list[str]) -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


def start(bin_dir: Path) -> PostgresCluster:
    folder = Path(tempfile.mkdtemp(prefix="axiswatch-pg-"))
    data = folder / "data"
    user = "postgres" if os.geteuid() == 0 else os.environ.get("USER", "postgres")
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres", "postgres")
    port = _free_port()
    subprocess.run(_as_owner([str(bin_dir / "initdb"), "-D", str(data), "-A", "trust", "-U", user, "--no-sync"]),
                   check=True, capture_output=True, timeout=120)
    options = f"-p {port} -c listen_addresses=127.0.0.1 -k {folder} -c fsync=off"
    subprocess.run(_as_owner([str(bin_dir / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(folder / "log"),
                              "-w", "-t", "60", "start"]), check=True, capture_output=True, timeout=120)
    return PostgresCluster(folder, port, user)


def stop(cluster: PostgresCluster, bin_dir: Path) -> None:
    subprocess.run(_as_owner([str(bin_dir / "pg_ctl"), "-D", str(cluster.folder / "data"), "-m", "fast", "-w", "stop"]),
                   capture_output=True, timeout=120)
    shutil.rmtree(cluster.folder, ignore_errors=True)


def create_database(cluster: PostgresCluster, bin_dir: Path, name: str) -> None:
    subprocess.run(_as_owner([str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(cluster.port), "-U",
                              cluster.user, name]), check=True, capture_output=True, timeout=60)
