"""The one HTTP client every request of the pipeline goes through.

It enforces what the open internet requires: http(s) only, non-public destinations refused at
connect time (see ``netguard``), a connect timeout plus a total deadline per request, a cap on
decoded bytes, a bounded redirect loop with the same checks on each hop, TLS always verified,
bounded retries with backoff for 429/5xx/connection errors honouring ``Retry-After``, a
per-host concurrency limit whose slots are granted first come, first served, and a per-host
circuit breaker.

A dead host (its name does not resolve, or it refuses, resets or fails TLS) would otherwise cost
every one of its pages the whole retry schedule. After ``host_down_after`` connection-level
failures in a row to one host (scheme, host and port) in this client's lifetime, its remaining
requests fail at once with ``host_down``, without retries or backoff; any answer from the host,
whatever its status, resets the count. The count lives as long as the client (one per run), so the next
run contacts the host afresh.
A name DNS says does not exist is not retried within a request (resolvers cache that answer).

The deadline measures the server, not the queue: it starts when a request is sent, after the
wait for a host slot and the host's politeness delay, so a busy host never makes a fast server
look slow.
"""

from __future__ import annotations

import email.utils
import json
import threading
import time
from collections import deque
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from typing import Annotated
from urllib.parse import urljoin, urlsplit

import httpcore
import httpx
from annotated_types import Ge, Gt, Le
from tenacity import (
    RetryCallState,
    Retrying,
    stop_after_attempt,
)

from ingest.connection_pools import OriginPools
from ingest.netguard import AddressPolicy, BlockedDestination, GuardedBackend, UnresolvableHost

DEFAULT_USER_AGENT = "axiswatch/0.1 (+https://github.com/axiswatch/axiswatch; news monitoring)"
REDIRECT_CODES = {301, 302, 303, 307, 308}
RETRY_CODES = {429, 500, 502, 503, 504}
KEEPALIVE_EXPIRY = 5.0  # seconds an idle connection stays open (servers often close theirs after 5-15)

Endpoint = tuple[str, str, int]  # (scheme, host, port): what the circuit breaker counts failures of

# Failures before any response that mean nothing is listening or reachable there: DNS, refused,
# reset, TLS handshake (httpx reports TLS failures as ConnectError). A server that answered and
# then broke off is up, and is not counted.
_CONNECTION_LEVEL = (
    httpx.ConnectError, httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError, httpcore.ConnectError,
)


@dataclass(frozen=True)
class HttpSettings:
    """Limits for every request; defaults suit nightly feed polling. These are the ``http:``
    section of the settings file too (``axiswatch.config`` builds its model from this class, with
    the bounds given here), so each default is written once."""

    connect_timeout: Annotated[float, Gt(0)] = 10.0  # seconds to open a connection
    read_timeout: Annotated[float, Gt(0)] = 20.0  # seconds between bytes
    deadline: Annotated[float, Gt(0)] = 30.0  # seconds for a whole request once sent, however the bytes arrive
    max_bytes: Annotated[int, Gt(0)] = 15 * 1024 * 1024  # cap on the decoded body
    max_redirects: Annotated[int, Ge(0)] = 5
    retries: Annotated[int, Ge(0), Le(10)] = 2  # extra attempts for 429/5xx/connection errors
    backoff_base: Annotated[float, Ge(0)] = 1.0  # seconds; doubles each attempt, Retry-After wins
    backoff_max: Annotated[float, Ge(0)] = 30.0  # the longest wait between attempts
    per_host_limit: Annotated[int, Ge(1)] = 2  # concurrent requests per host
    per_host_delay: Annotated[float, Ge(0)] = 0.0  # seconds between requests to one host (robots crawl-delay may raise it)
    max_crawl_delay: Annotated[float, Ge(0)] = 30.0  # a feed's crawl_delay or robots.txt's Crawl-delay above this is cut to it
    respect_robots: bool = True  # obey robots.txt for article pages
    user_agent: str = DEFAULT_USER_AGENT
    allowed_networks: tuple = ()  # parsed from the settings' allow_networks
    host_down_after: Annotated[int, Ge(0)] = 3  # connection failures in a row before a host is down for the run; 0: never
    keepalive_hosts: Annotated[int, Ge(0)] = 256  # hosts whose idle connections stay open for their next request (up to KEEPALIVE_EXPIRY)


class FetchError(Exception):
    """A request that produced no usable response; ``kind`` is a stable, short category."""

    kind = "fetch"

    def __init__(self, message: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class BlockedError(FetchError):
    kind = "blocked"


class BadUrlError(FetchError):
    kind = "bad_url"


class TimeoutFetchError(FetchError):
    kind = "timeout"


class TooLargeError(FetchError):
    kind = "too_large"


class RedirectError(FetchError):
    kind = "redirect"


class ConnectionFetchError(FetchError):
    kind = "connection"


class HostDownError(FetchError):
    """Not sent: the host failed ``host_down_after`` connections in a row earlier in this run."""

    kind = "host_down"


class UnresolvedHostError(ConnectionFetchError):
    """DNS says the name does not exist; not retried (the answer is cached), counts as a failure."""

    kind = "connection"


class HttpStatusError(FetchError):
    kind = "http_status"


class TransientError(FetchError):
    """Worth retrying: 429, 5xx, connection failures and timeouts."""


class TransientStatus(TransientError, HttpStatusError):
    kind = "http_status"


class TransientConnection(TransientError, ConnectionFetchError):
    kind = "connection"


class TransientTimeout(TransientError, TimeoutFetchError):
    kind = "timeout"


def _kinds(cls: type[FetchError]) -> frozenset[str]:
    return frozenset({cls.kind}).union(*(_kinds(sub) for sub in cls.__subclasses__()))


FETCH_ERROR_KINDS = _kinds(FetchError)  # every ``kind`` a failed fetch can report
# Failures that say nothing about the page itself: worth fetching it again on a later run.
TRANSIENT_KINDS = frozenset({"timeout", "connection", "host_down"})


def is_transient(reason: str, http_status: int | None) -> bool:
    """Whether a page that failed with ``reason`` ("kind: message") may succeed later: network
    failures and HTTP 429/5xx, never 404/410 or a refusal of ours (blocked, too large, robots)."""
    kind = reason.split(":", 1)[0]
    if kind == "http_status":
        return http_status is not None and (http_status == 429 or http_status >= 500)
    return kind in TRANSIENT_KINDS


@dataclass
class Response:
    """A completed response: status, final URL after redirects, decoded body."""

    url: str
    status: int
    headers: Mapping[str, str]
    body: bytes
    elapsed: float
    attempts: int = 1
    redirects: list[str] = field(default_factory=list)

    @property
    def not_modified(self) -> bool:
        return self.status == 304


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


class FairSlots:
    """At most ``limit`` holders at once, granted strictly in arrival order.

    A semaphore lets a thread that just released (a worker moving on to the next page of the same
    host) take the slot back ahead of threads that have waited longer, so one request can wait
    for many others; here a release hands the slot straight to the oldest waiter.
    """

    def __init__(self, limit: int) -> None:
        self._limit = max(1, limit)
        self._holders = 0
        self._waiters: deque[threading.Event] = deque()
        self._lock = threading.Lock()

    def waiting(self) -> int:
        with self._lock:
            return len(self._waiters)

    def acquire(self) -> None:
        with self._lock:
            if self._holders < self._limit and not self._waiters:
                self._holders += 1
                return
            granted = threading.Event()
            self._waiters.append(granted)
        try:
            granted.wait()
        except BaseException:  # interrupted while waiting: leave the queue, or pass on a grant
            with self._lock:
                if granted in self._waiters:
                    self._waiters.remove(granted)
                    raise
            self.release()
            raise

    def release(self) -> None:
        with self._lock:
            if self._waiters:
                self._waiters.popleft().set()  # the slot passes on; the holder count stays
            else:
                self._holders -= 1

    def __enter__(self) -> FairSlots:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


class HttpClient:
    """Thread-safe guarded client; one per run, shared by all fetching threads."""

    def __init__(self, settings: HttpSettings | None = None, sleep=time.sleep) -> None:
        self.settings = settings or HttpSettings()
        self._sleep = sleep
        policy = AddressPolicy(self.settings.allowed_networks)
        transport = httpx.HTTPTransport(trust_env=False, verify=True)
        # httpx has no public hook for the network backend; swap its pool for pools (one per
        # origin, see ``connection_pools``) that connect through the guarded backend.
        per_host = self.settings.per_host_limit
        make_pool = partial(httpcore.ConnectionPool, ssl_context=httpx.create_ssl_context(verify=True),
                            max_connections=per_host, max_keepalive_connections=per_host,
                            keepalive_expiry=KEEPALIVE_EXPIRY, network_backend=GuardedBackend(policy))
        self._pools = OriginPools(make_pool, keep=self.settings.keepalive_hosts, expiry=KEEPALIVE_EXPIRY)
        transport._pool = self._pools
        self._client = httpx.Client(
            transport=transport,
            trust_env=False,
            follow_redirects=False,
            timeout=httpx.Timeout(
                connect=self.settings.connect_timeout,
                read=self.settings.read_timeout,
                write=self.settings.read_timeout,
                pool=self.settings.deadline,
            ),
            headers={"User-Agent": self.settings.user_agent, "Accept-Encoding": "gzip, deflate"},
        )
        self._host_slots: dict[str, FairSlots] = {}
        self._host_delay: dict[str, float] = {}
        self._host_next: dict[str, float] = {}
        self._failures: dict[Endpoint, int] = {}  # connection failures in a row, per endpoint
        self._last_failure: dict[Endpoint, str] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> HttpClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def set_host_delay(self, host: str, seconds: float, only_if_unset: bool = False) -> None:
        """Minimum interval between requests to ``host``: a feed's configured crawl_delay wins over
        robots.txt (``only_if_unset``), and neither goes below the global per-host delay."""
        with self._lock:
            if only_if_unset and host in self._host_delay:
                return
            self._host_delay[host] = max(min(seconds, self.settings.max_crawl_delay), self.settings.per_host_delay)

    def queued(self, host: str) -> int:
        """How many requests are waiting for a slot on ``host`` (progress and tests)."""
        with self._lock:
            slots = self._host_slots.get(host)
        return slots.waiting() if slots else 0

    def host_down(self, endpoint: Endpoint) -> bool:
        """Whether requests to ``endpoint`` (scheme, host, port) now fail at once with ``host_down``."""
        limit = self.settings.host_down_after
        with self._lock:
            return limit > 0 and self._failures.get(endpoint, 0) >= limit

    def _raise_if_down(self, endpoint: Endpoint) -> None:
        if self.host_down(endpoint):
            scheme, host, port = endpoint
            with self._lock:
                failures, last = self._failures.get(endpoint, 0), self._last_failure.get(endpoint, "")
            raise HostDownError(
                f"{scheme}://{host}:{port} is down for this run after {failures} connection failures in a row "
                f"(last: {last}); not contacted again in this run"
            )

    def _connection_failed(self, endpoint: Endpoint, message: str) -> None:
        with self._lock:
            self._failures[endpoint] = self._failures.get(endpoint, 0) + 1
            self._last_failure[endpoint] = message

    def _host_answered(self, endpoint: Endpoint) -> None:
        with self._lock:
            self._failures.pop(endpoint, None)

    @contextmanager
    def _host_slot(self, host: str, endpoint: Endpoint) -> Iterator[None]:
        """Hold one of ``host``'s slots, then wait out its politeness delay; neither wait counts
        against the request deadline, which starts when the caller sends. A host that went down
        while the request queued is not contacted (and its delay not spent)."""
        self._raise_if_down(endpoint)
        with self._lock:
            slots = self._host_slots.get(host)
            if slots is None:
                slots = self._host_slots[host] = FairSlots(self.settings.per_host_limit)
        with slots:
            self._raise_if_down(endpoint)
            with self._lock:
                delay = self._host_delay.get(host, self.settings.per_host_delay)
                now = time.monotonic()
                start = max(now, self._host_next.get(host, now))
                self._host_next[host] = start + delay
            if start > now:
                self._sleep(start - now)
            yield

    def get(self, url: str, headers: Mapping[str, str] | None = None) -> Response:
        """GET ``url`` with retries; raise a FetchError subclass when no usable response came."""
        return self.request("GET", url, headers)

    def post_json(self, url: str, payload: object, headers: Mapping[str, str] | None = None) -> Response:
        """POST a JSON body (webhooks, notifications) through the same guards and retries."""
        body = json.dumps(payload, ensure_ascii=False, default=str).encode("utf-8")
        return self.request("POST", url, {"Content-Type": "application/json", **(headers or {})}, body)

    def request(
        self, method: str, url: str, headers: Mapping[str, str] | None = None, body: bytes | None = None
    ) -> Response:
        """Send a request with retries; raise a FetchError subclass when no usable response came."""
        attempts = 0

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            backoff = min(
                self.settings.backoff_max,
                self.settings.backoff_base * 2 ** (state.attempt_number - 1),
            )
            if isinstance(exc, FetchError) and exc.retry_after is not None:
                return min(self.settings.backoff_max, exc.retry_after)
            return backoff

        def worth_retrying(state: RetryCallState) -> bool:
            exc = state.outcome.exception() if state.outcome else None
            if not isinstance(exc, TransientError):
                return False
            endpoint = getattr(exc, "endpoint", None)  # a connection failure: is its host down now?
            return endpoint is None or not self.host_down(endpoint)

        retrying = Retrying(
            stop=stop_after_attempt(self.settings.retries + 1),
            retry=worth_retrying,
            wait=wait,
            sleep=self._sleep,
            reraise=True,
        )
        for attempt in retrying:
            with attempt:
                attempts += 1
                response = self._once(method, url, headers or {}, body)
        response.attempts = attempts
        return response

    def _once(self, method: str, url: str, headers: Mapping[str, str], body: bytes | None) -> Response:
        spent = 0.0  # seconds spent sending and receiving, over every redirect hop
        redirects: list[str] = []
        current = url
        while True:
            _check_scheme(current)
            budget = self.settings.deadline - spent
            if budget <= 0:
                raise TimeoutFetchError(f"total deadline of {self.settings.deadline}s exceeded")
            hop = self._request(method, current, headers, body, budget)
            spent += hop.elapsed
            status, resp_headers = hop.status, hop.headers
            if status in REDIRECT_CODES and hop.location:
                if len(redirects) >= self.settings.max_redirects:
                    raise RedirectError(f"more than {self.settings.max_redirects} redirects")
                redirects.append(current)
                current = urljoin(current, hop.location)
                if status == 303:
                    method, body = "GET", None
                continue
            if status in RETRY_CODES:
                raise TransientStatus(
                    f"HTTP {status}",
                    status=status,
                    retry_after=parse_retry_after(resp_headers.get("retry-after")),
                )
            if status >= 400:
                raise HttpStatusError(f"HTTP {status}", status=status)
            return Response(current, status, resp_headers, hop.body, spent, redirects=redirects)

    def _request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None, budget: float
    ) -> _Hop:
        """One hop; ``budget`` seconds from the moment it is sent (slot waits are not counted)."""
        host = urlsplit(url).hostname or ""
        endpoint = _endpoint(url)
        answered = False
        try:
            with self._host_slot(host, endpoint):
                sent = time.monotonic()
                with self._client.stream(method, url, headers=dict(headers), content=body) as resp:
                    answered = True
                    self._host_answered(endpoint)
                    location = resp.headers.get("location")
                    content = b""
                    if resp.status_code < 300:
                        content = self._read_capped(resp, sent + budget)
                    return _Hop(resp.status_code, resp.headers, content, location, time.monotonic() - sent)
        except BlockedDestination as exc:
            raise BlockedError(str(exc)) from None
        except httpx.TimeoutException as exc:
            error = TransientTimeout(f"timed out: {exc or type(exc).__name__}")
            if isinstance(exc, httpx.ConnectTimeout):  # nothing answered the SYN: a dead host too
                self._count_failure(error, endpoint)
            raise error from None
        except httpx.InvalidURL as exc:
            raise BadUrlError(f"invalid URL {url!r}: {exc}") from None
        except httpx.DecodingError as exc:
            raise FetchError(f"cannot decode response body: {exc}") from None
        except (httpx.TransportError, httpcore.ConnectError) as exc:
            if _caused_by(exc, BlockedDestination):  # httpx re-wraps httpcore errors
                raise BlockedError(str(_caused_by(exc, BlockedDestination))) from None
            message = f"connection failed: {exc or type(exc).__name__}"
            if _caused_by(exc, UnresolvableHost):
                error: FetchError = UnresolvedHostError(message)
            else:
                error = TransientConnection(message)
            if not answered and isinstance(exc, _CONNECTION_LEVEL):
                self._count_failure(error, endpoint)
            raise error from None

    def _count_failure(self, error: FetchError, endpoint: Endpoint) -> None:
        """Count a failure that says nothing answered at ``endpoint``; the retry loop reads the
        endpoint off the error to stop retrying once the host is down."""
        self._connection_failed(endpoint, str(error))
        error.endpoint = endpoint  # type: ignore[attr-defined]

    def _read_capped(self, resp: httpx.Response, deadline: float) -> bytes:
        """Read the decoded body, stopping at the byte cap and at the total deadline."""
        declared = resp.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > self.settings.max_bytes:
            raise TooLargeError(f"declared {declared} bytes exceeds cap {self.settings.max_bytes}")
        chunks: list[bytes] = []
        size = 0
        for chunk in resp.iter_bytes():
            size += len(chunk)
            if size > self.settings.max_bytes:
                raise TooLargeError(f"body exceeds cap of {self.settings.max_bytes} bytes")
            if time.monotonic() > deadline:
                raise TimeoutFetchError(f"total deadline of {self.settings.deadline}s exceeded")
            chunks.append(chunk)
        return b"".join(chunks)


def _endpoint(url: str) -> Endpoint:
    parts = urlsplit(url)
    try:
        port = parts.port
    except ValueError:
        port = None
    return (parts.scheme, parts.hostname or "", port or (443 if parts.scheme == "https" else 80))


def _caused_by(exc: BaseException, cls: type[BaseException]) -> BaseException | None:
    """The first exception of type ``cls`` in ``exc``'s chain of causes (httpx wraps httpcore's)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, cls):
            return seen
        seen = seen.__cause__ or seen.__context__
    return None


@dataclass
class _Hop:
    """One request/response exchange; ``elapsed`` counts from sending, not from queueing."""

    status: int
    headers: Mapping[str, str]
    body: bytes
    location: str | None
    elapsed: float


def _check_scheme(url: str) -> None:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https"):
        raise BadUrlError(f"only http and https URLs are fetched, not {url!r}")
    if not parts.hostname:
        raise BadUrlError(f"URL has no host: {url!r}")
