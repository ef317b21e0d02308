"""A feed longer than the per-run cap is read to its end over several runs: nothing is dropped,
the rest is recorded as deferred, and the feed's validators wait until every entry was read."""

from __future__ import annotations

import duckdb
import fixtures as fx
from fixture_server import Route

from axiswatch.config import Settings
from axiswatch.pipeline import run_pass
from ingest.records import FeedSource
from transform.tagging import Tagger


def long_feed(server, n: int) -> None:
    items = "".join(
        f"<item><title>Item {i}</title><link>{{BASE}}/long/{i}.html</link><description>Summary {i}</description></item>"
        for i in range(n)
    )
    server.add("/long.xml", Route(f"<rss version='2.0'><channel><title>t</title>{items}</channel></rss>",
                                  content_type="application/rss+xml", etag='"long-v1"'))


def test_a_long_feed_is_read_to_the_end_over_several_runs(server, tmp_path, fast_http, repo_root):
    long_feed(server, 50)  # its pages answer 404: the articles keep their summaries
    server.add("/rss.xml", Route(fx.RSS2, content_type="application/rss+xml"))
    server.add("/pages/troops.html", Route(fx.page("Troops reach Kursk", fx.TROOPS)))
    server.add("/pages/markets.html", Route(fx.page("Asian markets rise", fx.MARKETS)))
    sources = [FeedSource(name="long", url=server.url("/long.xml")), FeedSource(name="good", url=server.url("/rss.xml"))]
    settings = Settings(feed={"max_entries": 20})
    tagger = Tagger.from_file(repo_root / "config/topics.yaml")
    db = tmp_path / "w.duckdb"

    def stored(sql):
        con = duckdb.connect(str(db), read_only=True)
        try:
            return con.execute(sql).fetchall()
        finally:
            con.close()

    first = run_pass(sources, db, fast_http, tagger, workers=4, settings=settings, reports_dir=tmp_path / "r")
    assert stored("SELECT count(*) FROM articles WHERE feed = 'long'") == [(20,)]
    assert stored("SELECT count(*) FROM articles WHERE feed = 'good'") == [(3,)]  # its neighbour loads whole
    assert stored(f"SELECT entries, entries_deferred FROM feed_fetches WHERE feed = 'long' AND run_id = '{first.run_id}'") == [(50, 30)]
    [deferral] = [e for e in first.errors if e["kind"] == "entries_deferred"]
    assert deferral["feed"] == "long" and "30 new entries beyond feed.max_entries (20)" in deferral["message"]
    assert stored("SELECT coalesce(etag, '') FROM feeds WHERE name = 'long'") == [("",)]  # validators wait

    second = run_pass(sources, db, fast_http, tagger, workers=4, settings=settings, reports_dir=tmp_path / "r")
    assert second.articles_new == 20
    assert stored("SELECT count(*) FROM articles WHERE feed = 'long'") == [(40,)]
    third = run_pass(sources, db, fast_http, tagger, workers=4, settings=settings, reports_dir=tmp_path / "r")
    assert third.articles_new == 10 and not [e for e in third.errors if e["kind"] == "entries_deferred"]
    assert stored("SELECT count(DISTINCT canonical_url) FROM articles WHERE feed = 'long'") == [(50,)]  # every one
    assert stored("SELECT etag FROM feeds WHERE name = 'long'") == [('"long-v1"',)]  # read to the end: advanced

    fourth = run_pass(sources, db, fast_http, tagger, workers=4, settings=settings, reports_dir=tmp_path / "r")
    assert fourth.articles_new == 0
    assert stored(f"SELECT status FROM feed_fetches WHERE feed = 'long' AND run_id = '{fourth.run_id}'") == [("not_modified",)]
