"""Kept-alive connections, one small httpcore pool per origin (scheme, host and port).

httpcore 1.0 keeps one list of connections for all hosts. Every request and every closed
response scans that whole list, and its rule for dropping idle connections counts all
connections, not the idle ones: once more connections are open than it may keep idle, each one
is closed as soon as it is idle. With many hosts in flight nearly every request then opens a
connection, and the scans grow with the fetches in flight (benchmarks/README.md has the
figures). Each pool here is as large as the client's per-host limit, so its scans are short and
its connections stay open while its host is busy.

Idle pools are closed, least recently used first, once more than ``keepalive_hosts`` are idle,
and whenever one has been idle longer than its connections' keep-alive expiry (httpcore closes
an expired connection only when its own pool is used again): a run that touches thousands of
hosts does not hold thousands of sockets. A pool is only closed while no request is using it.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterator

import httpcore

Origin = tuple[bytes, bytes, int | None]


class OriginPools:
    """What httpx's transport calls (``handle_request``, ``close``), spread over one
    ``httpcore.ConnectionPool`` per origin, each made by ``make_pool``."""

    def __init__(self, make_pool: Callable[[], httpcore.ConnectionPool], keep: int, expiry: float) -> None:
        self._make_pool = make_pool
        self._keep = keep  # idle pools kept open
        self._expiry = expiry  # seconds an idle pool is kept open
        self._pools: OrderedDict[Origin, httpcore.ConnectionPool] = OrderedDict()  # least recently used first
        self._busy: dict[Origin, int] = {}  # requests using each origin's pool (response not closed yet)
        self._used: dict[Origin, float] = {}  # when each pool was last handed out or given back
        self._swept = time.monotonic()
        self._lock = threading.Lock()
        self._closed = False

    def handle_request(self, request: httpcore.Request) -> httpcore.Response:
        origin = (request.url.scheme, request.url.host, request.url.port)
        pool = self._acquire(origin)
        try:
            response = pool.handle_request(request)
        except BaseException:
            self._release(origin)
            raise
        return httpcore.Response(status=response.status, headers=response.headers,
                                 content=_Released(response.stream, lambda: self._release(origin)),
                                 extensions=response.extensions)

    def _acquire(self, origin: Origin) -> httpcore.ConnectionPool:
        with self._lock:
            if self._closed:
                raise RuntimeError("the connection pools are closed")
            now = time.monotonic()
            self._busy[origin] = self._busy.get(origin, 0) + 1  # before evicting: never the pool being handed out
            pool = self._pools.get(origin)
            created = pool is None
            if created:
                pool = self._pools[origin] = self._make_pool()
            self._pools.move_to_end(origin)
            self._used[origin] = now
            idle = self._evict(now, created)
        for old in idle:
            old.close()
        return pool

    def _evict(self, now: float, created: bool) -> list[httpcore.ConnectionPool]:
        """Take out the idle pools beyond ``keep`` (least recently used first) and those idle
        for longer than ``expiry``. A look at every pool: done when a pool was added, otherwise
        at most once per ``expiry``, so a request to a known host costs no scan."""
        if not created and now - self._swept < self._expiry:
            return []
        self._swept = now
        idle = [origin for origin in self._pools if not self._busy.get(origin)]
        surplus = len(idle) - self._keep
        evicted = []
        for origin in idle:
            if surplus > 0 or now - self._used[origin] >= self._expiry:
                evicted.append(self._pools.pop(origin))
                del self._used[origin]
                surplus -= 1
        return evicted

    def _release(self, origin: Origin) -> None:
        with self._lock:
            if origin in self._used:
                self._used[origin] = time.monotonic()
            left = self._busy.get(origin, 0) - 1
            if left > 0:
                self._busy[origin] = left
            else:
                self._busy.pop(origin, None)

    @property
    def origins(self) -> int:
        """Origins with a pool (open or idle connections) now."""
        with self._lock:
            return len(self._pools)

    def close(self) -> None:
        with self._lock:
            self._closed = True
            pools, self._pools = list(self._pools.values()), OrderedDict()
        for pool in pools:
            pool.close()

    def __enter__(self) -> OriginPools:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _Released:
    """A response body that tells its pool's owner when it is closed (the request is done)."""

    def __init__(self, stream, on_close: Callable[[], None]) -> None:
        self._stream = stream
        self._on_close = on_close
        self._done = False

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._stream)

    def close(self) -> None:
        try:
            self._stream.close()
        finally:
            if not self._done:
                self._done = True
                self._on_close()

