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
