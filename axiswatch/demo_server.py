"""A small static HTTP server for the offline demo corpus (and for tests).

It serves a folder with ETag and Last-Modified validators so the conditional-GET path is real.
The corpus spells its links with the default port; when serving on another port, the server
rewrites them in feeds and pages so the demo works on any port.
"""

from __future__ import annotations

import hashlib
import mimetypes
import threading
from email.utils import formatdate, parsedate_to_datetime
from functools import partial
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

DEFAULT_PORT = 8765
DEFAULT_BASE = f"http://127.0.0.1:{DEFAULT_PORT}"
TEXT_TYPES = (".xml", ".html", ".htm", ".rss", ".atom", ".rdf", ".txt")

mimetypes.add_type("application/rss+xml", ".rss")
mimetypes.add_type("application/atom+xml", ".atom")
mimetypes.add_type("application/rdf+xml", ".rdf")


class _Handler(BaseHTTPRequestHandler):
    server_version = "axiswatch-demo/1"

    def __init__(self, *args, root: Path, base: str, **kwargs):
        self.root, self.base = root, base
        super().__init__(*args, **kwargs)

    def log_message(self, format: str, *args) -> None:  # quiet by default
        return None

    def do_GET(self) -> None:
        path = self._resolve()
        if path is None:
            self.send_error(HTTPStatus.NOT_FOUND)
            return
        body = path.read_bytes()
        if self.base != DEFAULT_BASE and path.suffix in TEXT_TYPES:
            body = body.replace(DEFAULT_BASE.encode(), self.base.encode())
        etag = '"' + hashlib.sha1(body).hexdigest()[:16] + '"'
        mtime = path.stat().st_mtime
        if self._not_modified(etag, mtime):
            self.send_response(HTTPStatus.NOT_MODIFIED)
            self.send_header("ETag", etag)
            self.end_headers()
            return
        ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", etag)
        self.send_header("Last-Modified", formatdate(mtime, usegmt=True))
        self.end_headers()
        self.wfile.write(body)

    def _resolve(self) -> Path | None:
        rel = unquote(urlsplit(self.path).path).lstrip("/")
        path = (self.root / rel).resolve()
        if path.is_dir():
            path = path / "index.html"
        if not path.is_file() or self.root not in path.parents:
            return None
        return path

    def _not_modified(self, etag: str, mtime: float) -> bool:
        if inm := self.headers.get("If-None-Match"):
            return etag in [t.strip() for t in inm.split(",")]
        if ims := self.headers.get("If-Modified-Since"):
            try:
                return int(mtime) <= parsedate_to_datetime(ims).timestamp()
            except (TypeError, ValueError):
                return False
        return False


def make_server(root: str | Path, port: int = DEFAULT_PORT, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """Bind a server over ``root``; port 0 picks a free port."""
    root = Path(root).resolve()
    server = ThreadingHTTPServer((host, port), partial(_Handler, root=root, base=""))
    actual = server.server_address[1]
    server.RequestHandlerClass = partial(_Handler, root=root, base=f"http://{host}:{actual}")
    server.daemon_threads = True
    return server


def serve_in_thread(root: str | Path, port: int = 0) -> tuple[ThreadingHTTPServer, str]:
    """Start a server in a daemon thread; return it and its base URL."""
    server = make_server(root, port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"
