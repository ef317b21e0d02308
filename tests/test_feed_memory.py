"""The feed memory budget: however many maximum-size bodies arrive together, at most
``feed.max_parallel_parses`` are parsed at once and the process stays under 1.5 GiB."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from fixture_server import Route

import ingest.feeds as feeds
from benchmarks.feed_memory import run
from ingest.records import FeedSource
from ingest.settings import FeedLimits

BUDGET_MIB = 1536
RSS = '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title><item><link>{BASE}/a</link></item></channel></rss>'


def test_eight_maximum_size_bodies_at_once_fit_the_budget():
    """Eight 15 MiB feeds of long summaries from eight loopback hosts, fetched by fetch_feeds with
    the default settings in a fresh process (the shape that parses in seconds, not minutes)."""
    report = run("long", feeds=8)
    assert report["statuses"] == ["ok"] and report["entries"] > 6000
    assert report["body_mib"] > 14.5
    assert report["max_parses_in_flight"] <= FeedLimits().max_parallel_parses == 2
    assert report["tree_peak_rss_mib"] < BUDGET_MIB, report


class _Counting:
    """parse_feed slowed down and counted, so overlapping parses would be seen."""

    def __init__(self, real) -> None:
        self.real, self.now, self.max, self.lock = real, 0, 0, threading.Lock()

    def __call__(self, *args, **kwargs):
        with self.lock:
            self.now += 1
            self.max = max(self.max, self.now)
        try:
            time.sleep(0.2)
            return self.real(*args, **kwargs)
        finally:
            with self.lock:
                self.now -= 1


@pytest.mark.parametrize("limit", [1, 3])
def test_fetch_feeds_parses_at_most_the_setting_at_once(server, client, monkeypatch, limit):
    monkeypatch.setattr(feeds.os, "cpu_count", lambda: 1)  # parsed on the fetching threads, counted here
    counting = _Counting(feeds.parse_feed)
    monkeypatch.setattr(feeds, "parse_feed", counting)
    sources = [FeedSource(name=f"f{n}", url=server.add(f"/f{n}.xml", Route(body=RSS))) for n in range(6)]
    results = feeds.fetch_feeds(client, sources, {}, workers=6, limits=FeedLimits(max_parallel_parses=limit))
    assert [r.status for r in results] == ["ok"] * 6
    assert counting.max == limit  # six threads, each parse 0.2 s: the limit is reached, never passed


@pytest.mark.parametrize(("cores", "limit", "workers"), [(8, 3, 3), (2, 3, 2), (8, 2, 2)])
def test_parse_workers_are_at_most_the_setting_and_the_cores(server, client, monkeypatch, cores, limit, workers):
    started = []

    class Recorded(feeds.FeedParsers):
        def __init__(self, count, limits):
            started.append(count)
            super().__init__(count, limits)

    monkeypatch.setattr(feeds.os, "cpu_count", lambda: cores)
    monkeypatch.setattr(feeds, "FeedParsers", Recorded)
    sources = [FeedSource(name=f"w{n}", url=server.add(f"/w{n}.xml", Route(body=RSS))) for n in range(6)]
    results = feeds.fetch_feeds(client, sources, {}, workers=6, limits=FeedLimits(max_parallel_parses=limit))
    assert [r.status for r in results] == ["ok"] * 6 and started == [workers]


def test_lone_fetch_feed_calls_share_the_process_slots(server, client, monkeypatch):
    """fetch_feed called alone on several threads (no fetch_feeds) still honours the setting."""
    counting = _Counting(feeds.parse_feed)
    monkeypatch.setattr(feeds, "parse_feed", counting)
    limits = FeedLimits(max_parallel_parses=2)
    sources = [FeedSource(name=f"g{n}", url=server.add(f"/g{n}.xml", Route(body=RSS))) for n in range(5)]
    with ThreadPoolExecutor(5) as pool:
        results = list(pool.map(lambda s: feeds.fetch_feed(client, s, None, limits), sources))
    assert [r.status for r in results] == ["ok"] * 5
    assert counting.max == 2
