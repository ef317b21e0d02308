"""Faults in the HTTP client against real loopback servers: fair host slots, a deadline that
measures the server rather than the queue, and the per-host circuit breaker."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from fixture_server import Route

from ingest.http import FetchError, HttpClient, HttpSettings


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
