from __future__ import annotations

import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).parent))

from fixture_server import FixtureServer  # noqa: E402

from ingest.http import HttpClient, HttpSettings  # noqa: E402


@pytest.fixture
def server():
    srv = FixtureServer()
    yield srv
    srv.close()


@pytest.fixture
def fast_http() -> HttpSettings:
    """Loopback allowed, short timeouts, quick retries: what every fetch test needs."""
    return HttpSettings(
        connect_timeout=2, read_timeout=2, deadline=3, retries=1, backoff_base=0.01,
        allowed_networks=(__import__("ipaddress").ip_network("127.0.0.0/8"),),
    )


@pytest.fixture
def client(fast_http):
    with HttpClient(fast_http) as c:
        yield c


@pytest.fixture
def repo_root() -> Path:
    return ROOT


def run_axiswatch(*args, cwd=ROOT, stdin=None, timeout=120, env=None):
    """The real command line in a subprocess (``python -m axiswatch``), as users and scripts call it."""
    import subprocess

    return subprocess.run([sys.executable, "-m", "axiswatch", *args], cwd=cwd, input=stdin, capture_output=True,
                          text=True, timeout=timeout, env=env)


@pytest.fixture(scope="session")
def demo_warehouse(tmp_path_factory) -> Path:
    """One demo warehouse (and its snapshot) built by ``axiswatch demo``, shared by the tests that
    only read it; a test that may write copies it first."""
    import socket

    db = tmp_path_factory.mktemp("demo-warehouse") / "w.duckdb"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = run_axiswatch("demo", "--db", str(db), "--port", str(port), "--json", timeout=300)
    assert result.returncode == 0, result.stderr
    return db
