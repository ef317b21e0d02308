"""Pages that failed for a network reason are fetched again on later runs, with a growing wait,
up to a limit; pages that are gone (404) are not. Each case beside a good page that loads."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import fixtures as fx
from fixture_server import Route

from axiswatch.config import Settings
from axiswatch.pipeline import run_pass
from ingest.records import FeedSource
from transform.tagging import Tagger

ITEMS = ("flaky", "down", "gone", "good")


def site(server):
    items = "".join(f"<item><title>{n}</title><link>{{BASE}}/p/{n}.html</link><description>Summary of {n}</description></item>"
                    for n in ITEMS)
    server.add("/rss.xml", Route(f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>",
                                 content_type="application/rss+xml"))
    server.add("/p/flaky.html", Route(fx.page("North Korean troops reach Kursk", fx.TROOPS), fail_times=2))  # 503 twice
    server.add("/p/down.html", Route("busy", status=503))  # never comes back
    server.add("/p/good.html", Route(fx.page("Asian markets rise", fx.MARKETS)))
    return server  # /p/gone.html answers 404


def test_failed_pages_are_fetched_again_until_they_load_or_are_given_up(server, tmp_path, fast_http, repo_root):
    site(server)
    db = tmp_path / "w.duckdb"
    sources = [FeedSource(name="f", url=server.url("/rss.xml"))]
    tagger = Tagger.from_file(repo_root / "config/topics.yaml")
    settings = Settings(pages={"max_attempts": 3, "retry_after_minutes": 0})  # due again at once

    def rows():
        con = duckdb.connect(str(db), read_only=True)
        try:
            return {r[0]: r[1:] for r in con.execute(
                "SELECT title, fetch_status, fetch_attempts, next_fetch_at IS NOT NULL, fetch_error FROM articles").fetchall()}
        finally:
            con.close()

    def run():
        return run_pass(sources, db, fast_http, tagger, workers=2, settings=settings, reports_dir=tmp_path / "r")

    first = run()  # fast_http retries once: flaky and down answer 503 twice
    after = rows()
    assert after["good"][0] == "ok"
    assert after["flaky"][:3] == ("failed", 1, True) and after["down"][:3] == ("failed", 1, True)
    assert after["gone"][:3] == ("failed", None, False)  # 404: never again
    assert first.articles_new == 4

    second = run()
    after = rows()
    assert second.articles_new == 0 and second.pages_refetched == 2 and second.pages_recovered == 1
    assert after["flaky"][:4] == ("ok", 2, False, None)  # the page's text now, no error
    assert after["down"][:3] == ("failed", 2, True)
    assert server.routes["/p/good.html"].hits == 1  # stored pages are not fetched again
    con = duckdb.connect(str(db), read_only=True)
    tag = con.execute("SELECT t.is_axis FROM article_tags t JOIN articles a ON a.id = t.article_id"
                      " WHERE a.title = 'flaky' AND a.text LIKE '%Kursk%'").fetchall()
    copies = con.execute("SELECT count(*) FROM article_duplicates").fetchone()[0]
    con.close()
    assert tag == [(True,)]  # re-tagged from the page's text, once
    assert copies == 0  # a page fetched again is an update, never a copy of itself

    third = run()
    after = rows()
    assert third.pages_refetched == 1 and after["down"][:3] == ("failed", 3, False)
    assert after["down"][3].endswith("(given up after 3 fetches)")
    hits = server.routes["/p/down.html"].hits
    fourth = run()
    assert fourth.pages_refetched == 0 and server.routes["/p/down.html"].hits == hits


def test_the_wait_doubles_after_each_failed_fetch(server, tmp_path, fast_http, repo_root):
    site(server)
    db = tmp_path / "w.duckdb"
    settings = Settings(pages={"max_attempts": 4, "retry_after_minutes": 30})
    tagger = Tagger.from_file(repo_root / "config/topics.yaml")
    run_pass([FeedSource(name="f", url=server.url("/rss.xml"))], db, fast_http, tagger, workers=2, settings=settings,
             reports_dir=tmp_path / "r")
    con = duckdb.connect(str(db), read_only=True)
    wait = con.execute("SELECT next_fetch_at - first_seen_at FROM articles WHERE title = 'down'").fetchone()[0]
    con.close()
    assert timedelta(minutes=29) < wait < timedelta(minutes=31)
    hits = server.routes["/p/down.html"].hits
    run_pass([FeedSource(name="f", url=server.url("/rss.xml"))], db, fast_http, tagger, workers=2, settings=settings,
             reports_dir=tmp_path / "r")
    assert server.routes["/p/down.html"].hits == hits  # not due yet: not fetched
