"""A real HTTP server on 127.0.0.1 for tests: routes map a path to a canned behaviour.

Each route is a ``Route``: a body with headers and status, optionally honouring ETag validators,
sleeping before answering, dripping bytes slowly, or redirecting. ``{BASE}`` in a body is replaced
by the server's own base URL so fixtures can link to each other on any port.
"""

from __future__ import annotations

import gzip
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Route:
    body: bytes | str = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict = field(default_factory=dict)
    etag: str | None = None  # answer 304 when If-None-Match matches
    delay: float = 0.0  # sleep before the status line
    drip: float = 0.0  # seconds between single bytes of the body
    gzip: bool = False
    location: str | None = None  # redirect target (status should be 3xx)
    hits: int = 0
    fail_times: int = 0  # answer 503 this many times first, then behave normally
    retry_after: str | None = None
    content_length: int | None = None  # lie about the length (the connection closes after the body)
    gate: threading.Event | None = None  # hold the answer until the test sets this (at most 30 s)
    body_gate: threading.Event | None = None  # send the headers, then hold the body until this is set
    headers_sent: threading.Event = field(default_factory=threading.Event)  # set once the headers are out


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:
        return None

    def do_GET(self) -> None:
        server: FixtureServer = self.server.fixture  # type: ignore[attr-defined]
        server.requests.append((self.path, dict(self.headers)))
        route = server.routes.get(self.path.split("?")[0])
        if route is None:
            self.send_error(404)
            return
        route.hits += 1
        if route.gate is not None:
            route.gate.wait(30)
        if route.delay:
            time.sleep(route.delay)
        if route.fail_times and route.hits <= route.fail_times:
            self.send_response(503)
            if route.retry_after:
                self.send_header("Retry-After", route.retry_after)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if route.etag and self.headers.get("If-None-Match") == route.etag:
            self.send_response(304)
            self.send_header("ETag", route.etag)
            self.end_headers()
            return
        body = route.body.encode("utf-8") if isinstance(route.body, str) else route.body
        body = body.replace(b"{BASE}", server.base.encode())
        if route.gzip:
            body = gzip.compress(body)
        self.send_response(route.status)
        if route.location:
            self.send_header("Location", route.location.replace("{BASE}", server.base))
        self.send_header("Content-Type", route.content_type)
        if route.gzip:
            self.send_header("Content-Encoding", "gzip")
        if route.etag:
            self.send_header("ETag", route.etag)
        for key, value in route.headers.items():
            self.send_header(key, value)
        if route.content_length is not None:
            self.send_header("Content-Length", str(route.content_length))
            self.close_connection = True
        elif not route.drip:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if route.body_gate is not None:
            self.wfile.flush()
            route.headers_sent.set()
            route.body_gate.wait(30)
        try:
            if route.drip:
                for i in range(len(body)):
                    self.wfile.write(body[i : i + 1])
                    self.wfile.flush()
                    time.sleep(route.drip)
            else:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


class _PostHandler(_Handler):
    def do_POST(self) -> None:
        server: FixtureServer = self.server.fixture  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        route = server.routes.get(self.path.split("?")[0])
        server.posts.append((self.path, dict(self.headers), body))
        status = route.status if route else 404
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()


class _KeepAliveHandler(_PostHandler):
    """HTTP/1.1: the connection stays open between requests (for routes with a plain body)."""

    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        with self.server.fixture.lock:  # type: ignore[attr-defined]
            self.server.fixture.connections += 1  # type: ignore[attr-defined]


class FixtureServer:
    """``keep_alive``: answer HTTP/1.1 and keep connections open; ``connections`` counts them.
    ``host``: another loopback address (127.0.0.2, ...) is another host to the client."""

    def __init__(self, keep_alive: bool = False, host: str = "127.0.0.1") -> None:
        self.routes: dict[str, Route] = {}
        self.requests: list[tuple[str, dict]] = []
        self.posts: list[tuple[str, dict, bytes]] = []
        self.connections = 0
        self.lock = threading.Lock()
        self._httpd = ThreadingHTTPServer((host, 0), _KeepAliveHandler if keep_alive else _PostHandler)
        self._httpd.daemon_threads = True
        self._httpd.fixture = self  # type: ignore[attr-defined]
        self.port = self._httpd.server_address[1]
        self.base = f"http://{host}:{self.port}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()

    def url(self, path: str) -> str:
        return self.base + path

    def add(self, path: str, route: Route) -> str:
        self.routes[path] = route
        return self.url(path)

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
