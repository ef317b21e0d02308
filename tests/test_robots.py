"""robots.txt is fetched once per host per run, even when many pages of the host start together."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import duckdb
import fixtures as fx
from fixture_server import Route

from ingest.http import HttpClient
from ingest.robots import RobotsCache


def test_pages_starting_together_share_one_robots_fetch(server, client):
    gate = threading.Event()
    server.add("/robots.txt", Route("User-agent: *\nDisallow: /private/\n", content_type="text/plain", gate=gate))
    robots = RobotsCache(client)
    urls = [server.url(f"/news/{n}.html") for n in range(6)] + [server.url("/private/1.html")] * 2
    start = threading.Barrier(len(urls))

    def ask(url: str) -> bool:
        start.wait()
        return robots.allowed(url)

    with ThreadPoolExecutor(len(urls)) as pool:
        answers = pool.map(ask, urls)
        give_up = time.monotonic() + 10
        while server.routes["/robots.txt"].hits == 0 and time.monotonic() < give_up:
            time.sleep(0.01)
        time.sleep(0.3)  # let the other callers arrive while the first fetch is held
        gate.set()
        answers = list(answers)
    assert answers == [True] * 6 + [False] * 2
    assert server.routes["/robots.txt"].hits == 1
    assert robots.allowed(server.url("/news/7.html")) and server.routes["/robots.txt"].hits == 1


def test_a_failed_robots_fetch_is_shared_too_and_allows_everything(server, fast_http):
    server.add("/robots.txt", Route("busy", status=500, delay=0.2))
    with HttpClient(fast_http, sleep=lambda s: None) as client:
        robots = RobotsCache(client)
        with ThreadPoolExecutor(6) as pool:
            answers = list(pool.map(robots.allowed, [server.url(f"/a/{n}") for n in range(6)]))
    assert answers == [True] * 6
    assert server.routes["/robots.txt"].hits == fast_http.retries + 1  # one fetch with its retries


def test_a_night_asks_each_host_for_robots_txt_once(server, tmp_path, fast_http, repo_root):
    from axiswatch.pipeline import run_pass
    from ingest.records import FeedSource
    from transform.tagging import Tagger

    server.add("/robots.txt", Route("User-agent: *\nDisallow: /blocked/\n", content_type="text/plain", delay=0.3))
    items = "".join(f"<item><title>Story {n}</title><link>{{BASE}}/s/{n}.html</link></item>" for n in range(8))
    items += "<item><title>Blocked</title><link>{BASE}/blocked/1.html</link></item>"
    server.add("/many.xml", Route(f'<?xml version="1.0"?><rss version="2.0"><channel><title>M</title>{items}</channel></rss>',
                                  content_type="application/rss+xml"))
    for n in range(8):
        text = [f"Story {n} of a wire that publishes eight different reports on the same morning, each its own."]
        server.add(f"/s/{n}.html", Route(fx.page(f"Story {n}", text + (fx.TROOPS if n % 2 else fx.MARKETS))))
    server.add("/good.xml", Route(fx.RSS2, content_type="application/rss+xml"))
    server.add("/pages/troops.html", Route(fx.page("Troops reach Kursk", fx.TROOPS)))
    server.add("/pages/markets.html", Route(fx.page("Asian markets rise", fx.MARKETS)))
    sources = [FeedSource(name="good", url=server.url("/good.xml")), FeedSource(name="many", url=server.url("/many.xml"))]
    run_pass(sources, tmp_path / "w.duckdb", fast_http, Tagger.from_file(repo_root / "config/topics.yaml"), workers=8)
    assert server.routes["/robots.txt"].hits == 1
    con = duckdb.connect(str(tmp_path / "w.duckdb"), read_only=True)
    rows = dict(con.execute("SELECT url, fetch_status FROM articles WHERE feed = 'many'").fetchall())
    assert sum(status == "ok" for status in rows.values()) == 8
    assert rows[server.url("/blocked/1.html")] != "ok"
    assert con.execute("SELECT count(*) FROM articles WHERE feed = 'good' AND fetch_status = 'ok'").fetchone() == (2,)
