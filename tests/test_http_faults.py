"""Faults in the HTTP client against real loopback servers: fair host slots, a deadline that
measures the server rather than the queue, and the per-host circuit breaker."""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import duckdb
import pytest
from fixture_server import Route

from ingest.http import (
    ConnectionFetchError,
    FetchError,
    HostDownError,
    HttpClient,
    HttpSettings,
    HttpStatusError,
)


def settle(condition: Callable[[], bool], within: float = 10.0) -> None:
    """Wait until ``condition`` holds (synchronisation between threads, not a timing assertion)."""
    give_up = time.monotonic() + within
    while not condition():
        assert time.monotonic() < give_up, "condition never held"
        time.sleep(0.005)


def with_(settings: HttpSettings, **changes: object) -> HttpSettings:
    return HttpSettings(**{**settings.__dict__, **changes})


def test_waiting_for_a_host_slot_is_not_part_of_the_deadline(server, fast_http):
    # Each answer takes 0.25 s, well inside the 2 s deadline; twelve requests queued for the one
    # slot wait up to 2.75 s, longer than the deadline, and still none may time out.
    url = server.add("/slowish", Route("x" * 2000, delay=0.25))
    settings = with_(fast_http, per_host_limit=1, deadline=2.0, retries=0)
    with HttpClient(settings) as client:
        assert client.get(url).body == b"x" * 2000  # alone, the request meets its deadline
        with ThreadPoolExecutor(12) as pool:
            outcomes = list(pool.map(lambda _: _outcome(client, url), range(12)))
    assert outcomes == ["ok"] * 12
    assert server.routes["/slowish"].hits == 13


def _outcome(client: HttpClient, url: str) -> str:
    try:
        client.get(url)
    except FetchError as exc:
        return exc.kind
    return "ok"


def test_host_slots_are_granted_in_arrival_order(server, fast_http):
    # The holder's thread asks for the host again the moment it is done (as a fetch worker moving
    # on to the next page does); it must queue behind the five requests already waiting.
    gate = threading.Event()
    first = server.add("/first", Route("held", gate=gate))
    server.add("/p", Route("page"))
    settings = with_(fast_http, per_host_limit=1, retries=0, read_timeout=30, deadline=30)
    with HttpClient(settings) as client:
        holder = threading.Thread(target=lambda: (client.get(first), client.get(server.url("/p?n=again"))))
        holder.start()
        settle(lambda: server.routes["/first"].hits == 1)
        waiters = []
        for n in range(1, 6):
            waiter = threading.Thread(target=client.get, args=(server.url(f"/p?n={n}"),))
            waiter.start()
            waiters.append(waiter)
            settle(lambda n=n: client.queued("127.0.0.1") == n)
        gate.set()
        for thread in (holder, *waiters):
            thread.join(30)
    order = [path for path, _ in server.requests]
    assert order == ["/first", "/p?n=1", "/p?n=2", "/p?n=3", "/p?n=4", "/p?n=5", "/p?n=again"]


class ResettingServer:
    """A TCP listener on 127.0.0.1 that resets every connection, or answers 200 once told to:
    a host that is there but drops every connection, and then recovers."""

    def __init__(self) -> None:
        self.answer = False
        self.connections = 0
        self._sock = socket.create_server(("127.0.0.1", 0))
        self.port = self._sock.getsockname()[1]
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            self.connections += 1
            with conn:
                if self.answer:
                    conn.recv(65536)
                    conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
                else:
                    conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def close(self) -> None:
        self._sock.close()


def closed_port() -> int:
    """A loopback port nothing listens on: connections to it are refused."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return sock.getsockname()[1]


def test_refusing_host_goes_down_after_the_threshold_and_then_fails_at_once(fast_http):
    url = f"http://127.0.0.1:{closed_port()}/page"
    settings = with_(fast_http, retries=2, host_down_after=3)
    slept: list[float] = []
    with HttpClient(settings, sleep=slept.append) as client:
        with pytest.raises(ConnectionFetchError) as first:  # three attempts, two backoffs
            client.get(url)
        assert first.value.kind == "connection" and len(slept) == 2
        for _ in range(20):
            with pytest.raises(HostDownError) as later:
                client.get(url)
            assert later.value.kind == "host_down" and "refused" in str(later.value).lower()
        assert len(slept) == 2  # no retries or backoff once the host is down


def test_a_name_that_does_not_exist_is_tried_once_per_request(fast_http):
    slept: list[float] = []
    with HttpClient(with_(fast_http, retries=2, host_down_after=3), sleep=slept.append) as client:
        kinds = [_outcome(client, "http://nowhere.invalid/a") for _ in range(5)]
    assert kinds == ["connection"] * 3 + ["host_down"] * 2 and slept == []


def test_resets_and_tls_failures_count_and_an_answer_resets_the_count(server, fast_http):
    resetting = ResettingServer()
    url = f"http://127.0.0.1:{resetting.port}/"
    good = server.add("/fine", Route("fine"))
    try:
        with HttpClient(with_(fast_http, retries=0, host_down_after=3)) as client:
            assert [_outcome(client, url) for _ in range(2)] == ["connection"] * 2
            resetting.answer = True
            assert client.get(url).body == b"ok"  # the host answered: the count starts again
            resetting.answer = False
            assert [_outcome(client, url) for _ in range(3)] == ["connection"] * 3
            assert _outcome(client, url) == "host_down"
            assert resetting.connections == 6
            # TLS spoken to a plain-HTTP server fails the handshake; that port is down apart
            # from plain HTTP on the same address and port, which still loads.
            tls = server.url("/fine").replace("http://", "https://")
            assert [_outcome(client, tls) for _ in range(4)] == ["connection"] * 3 + ["host_down"]
            assert client.get(good).body == b"fine"
    finally:
        resetting.close()


@pytest.mark.parametrize("status", [404, 410])
def test_gone_pages_are_never_retried(server, fast_http, status):
    url = server.add("/gone", Route("gone", status=status))
    with HttpClient(with_(fast_http, retries=3)) as client, pytest.raises(HttpStatusError):
        client.get(url)
    assert server.routes["/gone"].hits == 1


def test_statuses_keep_their_retries_and_never_take_a_host_down(server, fast_http):
    url = server.add("/busy", Route("x", fail_times=100))
    with HttpClient(with_(fast_http, retries=2, host_down_after=1), sleep=lambda s: None) as client:
        assert [_outcome(client, url) for _ in range(3)] == ["http_status"] * 3
    assert server.routes["/busy"].hits == 9  # every request had its three attempts


def test_a_night_of_dead_page_hosts_costs_a_few_attempts_per_host(server, tmp_path, fast_http, monkeypatch):
    # 200 pages on four hosts whose names do not exist and one port that refuses, listed by a
    # feed beside a good one: the good pages load, every dead page fails with host_down (or, for
    # the few attempts that took its host down, with the connection error itself), and each dead
    # host is contacted at most host_down_after + per_host_limit times in all, robots.txt included.
    import fixtures as fx

    from axiswatch.pipeline import run_pass
    from ingest.netguard import AddressPolicy
    from ingest.records import FeedSource
    from transform.tagging import Tagger

    refused = closed_port()
    dead_hosts = ["a.invalid", "b.invalid", "news.c.invalid", "d.invalid", f"127.0.0.1:{refused}"]
    items = "".join(
        f"<item><title>Dead {n}</title><link>http://{dead_hosts[n % 5]}/story/{n}.html</link><guid>d{n}</guid></item>"
        for n in range(200)
    )
    server.add("/dead.xml", Route(f'<?xml version="1.0"?><rss version="2.0"><channel><title>D</title>{items}</channel></rss>',
                                  content_type="application/rss+xml"))
    server.add("/good.xml", Route(fx.RSS2, content_type="application/rss+xml"))
    server.add("/pages/troops.html", Route(fx.page("Troops reach Kursk", fx.TROOPS)))
    server.add("/pages/markets.html", Route(fx.page("Asian markets rise", fx.MARKETS)))

    contacts: Counter[tuple[str, int]] = Counter()
    original = AddressPolicy.resolve

    def counting_resolve(policy: AddressPolicy, host: str, port: int) -> list:
        contacts[(host, port)] += 1  # once per connection attempt; the real resolver still runs
        return original(policy, host, port)

    monkeypatch.setattr(AddressPolicy, "resolve", counting_resolve)
    from conftest import ROOT

    settings = with_(fast_http, retries=2, host_down_after=3, per_host_limit=2)
    sources = [FeedSource(name="good", url=server.url("/good.xml")), FeedSource(name="dead", url=server.url("/dead.xml"))]
    summary = run_pass(sources, tmp_path / "w.duckdb", settings, Tagger.from_file(ROOT / "config/topics.yaml"), workers=8)

    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    good = con.execute("SELECT count(*) FROM articles WHERE feed = 'good' AND fetch_status = 'ok'").fetchone()[0]
    assert good == 2  # troops and markets; the third page of the good feed is a 404
    failures = con.execute("SELECT fetch_status, fetch_error FROM articles WHERE feed = 'dead'").fetchall()
    assert len(failures) == 200 and all(status != "ok" for status, _ in failures)
    kinds = Counter(error.split(":", 1)[0] for _, error in failures)
    assert set(kinds) <= {"host_down", "connection"} and kinds["host_down"] >= 200 - 5 * (3 + 2)
    assert sum(e["kind"] == "page_host_down" for e in summary.errors) == kinds["host_down"]
    for host in dead_hosts:
        name, _, port = host.partition(":")
        assert 1 <= contacts[(name, int(port or 80))] <= 3 + 2, (host, contacts)
