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
        assert client._pools.origins == 3  # when the fourth host came: two idle kept, the first closed
        client.get(urls[3])  # still open: the same connection
        client.get(urls[0])  # closed when the fourth host came: a new one
    assert [h.connections for h in hosts] == [2, 1, 1, 1]


def test_hosts_idle_longer_than_the_keepalive_expiry_are_closed(servers, fast_http, monkeypatch):
    """httpcore closes an expired connection only when its own pool is used again: a host not
    contacted again would hold its sockets until the run ends."""
    import ingest.http

    monkeypatch.setattr(ingest.http, "KEEPALIVE_EXPIRY", 0.3)
    hosts = servers(3)
    urls = [host.add("/", Route("ok")) for host in hosts]
    with HttpClient(fast_http) as client:
        for url in urls:
            client.get(url)
        assert client._pools.origins == 3
        threading.Event().wait(0.5)
        client.get(urls[2])
        assert client._pools.origins == 1  # the two idle past the expiry are closed


def test_a_host_in_the_middle_of_a_response_keeps_its_connection(servers, fast_http):
    """With no idle host kept at all, a response whose body is still arriving is not cut off by
    other hosts' requests: its pool counts as in use until the body is read."""
    slow, *others = servers(3)
    gate = threading.Event()
    route = Route("the whole body", body_gate=gate)
    slow_url = slow.add("/slow", route)
    with HttpClient(settings(fast_http, keepalive_hosts=0, deadline=10, read_timeout=10)) as client:
        with ThreadPoolExecutor(1) as pool:
            pending = pool.submit(client.get, slow_url)
            assert route.headers_sent.wait(10)  # the status and headers are out, the body held back
            for server in others:
                assert client.get(server.add("/", Route("ok"))).body == b"ok"
            gate.set()
            assert pending.result(timeout=10).body == b"the whole body"
        # The slow host's pool outlived the first other host's (in use when it came, idle when
        # the second came); the last host's is its own.
        assert client._pools.origins == 2
