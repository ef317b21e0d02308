"""`make bench-feed-memory`: peak memory of fetching 8 maximum-size feeds at once.

Eight loopback servers (127.0.0.1 to 127.0.0.8, so the per-host limit does not serialise the
downloads) each serve one feed body of about ``http.max_bytes`` (15 MiB decoded). A fresh
subprocess runs ``ingest.feeds.fetch_feeds`` on all eight with the default settings (only loopback
allowed) and reports its peak RSS (``ru_maxrss`` of itself and of its children), the seconds, and
the most parses that were in flight at once (``parse_feed`` wrapped with a counter). Two body
shapes: ``many`` (about 30,000 short items) and ``long`` (fewer items with long summaries).

Usage: python -m benchmarks.feed_memory [--shapes many long] [--feeds 8]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MIB = 1024 * 1024
SHAPES = ("many", "long")


def feed_body(shape: str, size: int) -> bytes:
    """An RSS 2.0 body of just under ``size`` bytes: ``many`` short items or ``long`` summaries."""
    head = b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Big</title><language>en</language>'
    tail = b"</channel></rss>"
    words = "news report about the economy and elections in several countries today ".split()
    if shape == "many":
        summary = " ".join(words * 4)  # about 280 characters: ~500 bytes an item
    elif shape == "long":
        summary = " ".join(words * 250)  # about 18,000 characters, under feed.max_summary
    else:
        raise ValueError(f"unknown shape {shape!r}; one of {SHAPES}")
    parts = [head]
    total = len(head) + len(tail)
    i = 0
    while True:
        item = (
            f"<item><title>Story {i} about the economy</title><link>https://news.example/{shape}/{i}.html</link>"
            f"<guid>https://news.example/{shape}/{i}.html</guid><pubDate>Mon, 30 Nov 2026 12:00:00 GMT</pubDate>"
            f"<description>{summary} {i}</description></item>"
        ).encode()
        if total + len(item) > size:
            break
        parts.append(item)
        total += len(item)
        i += 1
    parts.append(tail)
    return b"".join(parts)


class _Body(BaseHTTPRequestHandler):
    """Answers every GET with the server's one body."""

    def log_message(self, *args) -> None:
        return None

    def do_GET(self) -> None:
        body: bytes = self.server.body  # type: ignore[attr-defined]
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


def serve(body: bytes, feeds: int) -> tuple[list[ThreadingHTTPServer], list[str]]:
    """One server per loopback address (distinct hosts, so downloads run in parallel); their URLs."""
    servers, urls = [], []
    for n in range(feeds):
        server = ThreadingHTTPServer((f"127.0.0.{n + 1}", 0), _Body)
        server.daemon_threads = True
        server.body = body  # type: ignore[attr-defined]
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        urls.append(f"http://127.0.0.{n + 1}:{server.server_address[1]}/feed.xml")
    return servers, urls


def stop(servers: list[ThreadingHTTPServer]) -> None:
    for server in servers:
        server.shutdown()
        server.server_close()


def child(urls: list[str], settings_file: str | None = None) -> dict:
    """Run in the subprocess: fetch every URL with ``fetch_feeds`` and the default settings."""
    import ipaddress

    import ingest.feeds as feeds
    from ingest.http import HttpClient, HttpSettings
    from ingest.records import FeedSource
    from ingest.settings import FeedLimits

    limits = FeedLimits()
    workers = 8
    if settings_file:
        from axiswatch.config import load_settings

        loaded = load_settings(Path(settings_file))
        limits, workers = loaded.feed, loaded.workers
    lock = threading.Lock()
    in_flight = {"now": 0, "max": 0}
    real_parse = feeds.parse_feed

    def counted_parse(*args, **kwargs):
        with lock:
            in_flight["now"] += 1
            in_flight["max"] = max(in_flight["max"], in_flight["now"])
        try:
            return real_parse(*args, **kwargs)
        finally:
            with lock:
                in_flight["now"] -= 1

    feeds.parse_feed = counted_parse
    client = HttpClient(HttpSettings(allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),)))
    sources = [FeedSource(name=f"big-{n}", url=url) for n, url in enumerate(urls)]
    started = time.perf_counter()
    results = feeds.fetch_feeds(client, sources, {}, workers=workers, limits=limits)
    seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 2),
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "children_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        "max_parses_in_flight": in_flight["max"],
        "max_parallel_parses": getattr(limits, "max_parallel_parses", None),
        "statuses": sorted({r.status + (f":{r.error_kind}" if r.error_kind else "") for r in results}),
        "entries": sum(len(r.entries) for r in results),
        "bytes": sum(r.bytes for r in results),
    }


def run(shape: str, feeds: int = 8, settings_file: str | None = None, size: int | None = None) -> dict:
    """Serve ``feeds`` bodies of ``shape`` and fetch them all in a fresh subprocess; its report."""
    from ingest.http import HttpSettings

    body = feed_body(shape, size or HttpSettings().max_bytes)
    servers, urls = serve(body, feeds)
    try:
        cmd = [sys.executable, "-m", "benchmarks.feed_memory", "--child", *urls]
        if settings_file:
            cmd += ["--settings", settings_file]
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False)
    finally:
        stop(servers)
    if done.returncode != 0:
        raise RuntimeError(f"child failed ({done.returncode}): {done.stderr[-2000:]}")
    report = json.loads(done.stdout.strip().splitlines()[-1])
    report.update(shape=shape, feeds=feeds, body_mib=round(len(body) / MIB, 2))
    report["tree_peak_rss_mib"] = round(report["peak_rss_mib"] + report["children_peak_rss_mib"], 1)
    return report


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=SHAPES)
    parser.add_argument("--feeds", type=int, default=8, help="bodies fetched at once (the default workers)")
    parser.add_argument("--settings", help="a settings.yaml to read feed: and workers from (default: the defaults)")
    parser.add_argument("--child", nargs="+", metavar="URL", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(args.child, args.settings)))
        return
    for shape in args.shapes:
        print(json.dumps(run(shape, args.feeds, args.settings)), flush=True)


if __name__ == "__main__":
    main()
