"""Kept-alive connections per host (``ingest.connection_pools``), against real keep-alive servers."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from fixture_server import FixtureServer, Route

from ingest.http import HttpClient, HttpSettings


@pytest.fixture
def servers():
    made: list[FixtureServer] = []

    def start(count: int) -> list[FixtureServer]:
        for _ in range(count):
            made.append(FixtureServer(keep_alive=True, host=f"127.0.0.{len(made) + 2}"))
        return made[-count:]

    yield start
    for server in made:
        server.close()


def settings(fast_http: HttpSettings, **values) -> HttpSettings:
    return HttpSettings(**{**fast_http.__dict__, **values})


def test_many_hosts_at_once_keep_their_connections(servers, fast_http):
    """40 fetches in flight over 20 hosts: each host's connections are reused. httpcore's one
    shared pool closed every idle connection once it held more than 32, so there nearly every
    request opened a connection (about 100 here)."""
    hosts = servers(20)
    urls = [host.add(f"/p{i}", Route(f"page {i}", delay=0.05)) for i in range(5) for host in hosts]
    with HttpClient(settings(fast_http, per_host_limit=2)) as client, ThreadPoolExecutor(40) as pool:
        bodies = list(pool.map(lambda url: client.get(url).body, urls))
    assert bodies == [f"page {i}".encode() for i in range(5) for _ in hosts]
    assert sum(h.connections for h in hosts) <= 2 * len(hosts)  # at most the per-host limit each


def test_hosts_beyond_keepalive_hosts_lose_their_idle_connections(servers, fast_http):
    hosts = servers(4)
    urls = [host.add("/", Route("ok")) for host in hosts]
    with HttpClient(settings(fast_http, keepalive_hosts=2)) as client:
        for url in urls:
            client.get(url)
        assert client._pools.origins == 2  # the two used last
        client.get(urls[3])  # still open: the same connection
        client.get(urls[0])  # closed when the third host came: a new one
    assert [h.connections for h in hosts] == [2, 1, 1, 1]


def test_a_host_in_the_middle_of_a_request_keeps_its_connection(servers, fast_http):
    """With no idle host kept at all, a response still being read is not cut off by other
    hosts' requests."""
    slow, *others = servers(3)
    gate = threading.Event()
    slow_url = slow.add("/slow", Route("the whole body", gate=gate))
    with HttpClient(settings(fast_http, keepalive_hosts=0, deadline=10, read_timeout=10)) as client:
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(client.get, slow_url)
            while not slow.requests:  # the request reached the server
                threading.Event().wait(0.01)
            for server in others:
                assert client.get(server.add("/", Route("ok"))).body == b"ok"
            gate.set()
            assert pending.result(timeout=10).body == b"the whole body"
        # The slow host's pool outlived the first other host's (busy when it came, idle when the
        # second came); the last host's is its own.
        assert client._pools.origins == 2
