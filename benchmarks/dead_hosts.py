"""`make bench-dead-hosts`: a night whose page links mostly point at dead hosts (names that do not
resolve, ports that refuse), beside one good feed on a loopback host. Prints one JSON object with
the pass's wall time; the goal is under 60 s with the default settings.

Every dead host costs at most ``host_down_after`` + ``per_host_limit`` connection attempts (the
circuit breaker in ``ingest/http.py``); ``--host-down-after 0`` turns the breaker off to show what
the same night costs without it.

Usage: python -m benchmarks.dead_hosts [--feeds 20 --pages 400 --refused-feeds 4 --good-pages 20]
"""

from __future__ import annotations

import argparse
import ipaddress
import json
import socket
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def closed_port() -> int:
    """A loopback port nothing listens on (connections are refused)."""
    with socket.create_server(("127.0.0.1", 0)) as sock:
        return sock.getsockname()[1]


def dead_feed(f: int, host: str, pages: int) -> bytes:
    items = "".join(
        f"<item><title>Story {f}-{p}</title><link>http://{host}/news/{f}/{p}.html</link><guid>{host}/{p}</guid></item>"
        for p in range(pages)
    )
    return (f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Dead {f}</title>'
            f"{items}</channel></rss>").encode()


def main(argv: list[str] | None = None) -> None:
    from ingest.http import HttpSettings

    defaults = HttpSettings()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=20, help="feeds whose pages are on dead hosts")
    parser.add_argument("--pages", type=int, default=400, help="dead pages in all (spread over the feeds)")
    parser.add_argument("--refused-feeds", type=int, default=4, help="of those feeds, how many link to refusing ports")
    parser.add_argument("--good-pages", type=int, default=20, help="pages of the good feed")
    parser.add_argument("--workers", type=int, default=8, help="fetch threads (the settings' default)")
    parser.add_argument("--host-down-after", type=int, default=defaults.host_down_after)
    args = parser.parse_args(argv)

    from axiswatch.pipeline import run_pass
    from benchmarks.corpus import build, serve
    from ingest.records import FeedSource
    from transform.tagging import Tagger

    corpus = build(1, args.good_pages, args.good_pages, hosts=1, dup_rate=0.0)
    feed_host = corpus.hosts[0]
    per_feed = max(1, args.pages // max(1, args.feeds))
    dead_hosts = []
    for f in range(args.feeds):
        host = f"127.0.0.1:{closed_port()}" if f < args.refused_feeds else f"news-{f}.example.invalid"
        dead_hosts.append(host)
        corpus.feeds[(feed_host, f"/dead-{f}.xml")] = dead_feed(f, host, per_feed)
    servers, port = serve(corpus, latency=0.05)
    sources = [FeedSource(name="good", url=corpus.feed_urls[0].replace("{PORT}", str(port)))]
    sources += [FeedSource(name=f"dead-{f}", url=f"http://{feed_host}:{port}/dead-{f}.xml") for f in range(args.feeds)]
    http = HttpSettings(host_down_after=args.host_down_after, allowed_networks=(ipaddress.ip_network("127.0.0.0/8"),))
    tagger = Tagger.from_file(ROOT / "config/topics.yaml")
    try:
        with tempfile.TemporaryDirectory() as work:
            started = time.perf_counter()
            summary = run_pass(sources, Path(work) / "w.duckdb", http, tagger, workers=args.workers)
            seconds = time.perf_counter() - started
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()
    kinds = Counter(e["kind"] for e in summary.errors)
    print(json.dumps({
        "seconds": round(seconds, 2),
        "goal_s": 60,
        "feeds": len(sources),
        "dead_pages": per_feed * args.feeds,
        "dead_hosts": {"unresolvable": args.feeds - args.refused_feeds, "refusing": min(args.refused_feeds, args.feeds)},
        "good_pages": args.good_pages,
        "articles_new": summary.articles_new,
        "pages_failed": summary.pages_failed,
        "errors_by_kind": dict(sorted(kinds.items())),
        "settings": {"host_down_after": http.host_down_after, "retries": http.retries, "backoff_base": http.backoff_base,
                     "per_host_limit": http.per_host_limit, "workers": args.workers},
    }, indent=1))


if __name__ == "__main__":
    main()
