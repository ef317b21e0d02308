"""End to end: fixture feeds on a real local server -> pipeline -> a real DuckDB file, and the
same on a real DuckLake (SQLite catalog, Parquet files)."""

from pathlib import Path

import fixtures as fx
import pytest
from fixture_server import Route

from axiswatch.pipeline import run_pass
from ingest.records import FeedSource
from transform.tagging import Tagger
from warehouse.db import connect
from warehouse.snapshot import snapshot_path


@pytest.fixture(params=["duckdb", "ducklake"])
def db(request, tmp_path):
    """The warehouse location on each backend."""
    return tmp_path / "w.duckdb" if request.param == "duckdb" else f"ducklake:sqlite:{tmp_path}/lake.sqlite"


@pytest.fixture
def site(server):
    server.add("/rss.xml", Route(fx.RSS2, content_type="application/rss+xml", etag='"rss-v1"'))
    server.add("/atom.xml", Route(fx.ATOM, content_type="application/atom+xml"))
    server.add("/ru.xml", Route(fx.CP1251, content_type="application/rss+xml; charset=utf-8"))  # wrong charset
    server.add("/ko.xml", Route(fx.EUCKR, content_type="application/rss+xml"))
    server.add("/broken.xml", Route(fx.MALFORMED, content_type="application/xml"))
    server.add("/error.xml", Route("boom", status=500))
    server.add("/pages/troops.html", Route(fx.page("Troops reach Kursk", fx.TROOPS)))
    server.add("/pages/markets.html", Route(fx.page("Asian markets rise", fx.MARKETS)))
    server.add("/pages/markets-copy.html", Route(fx.page("Markets copy", fx.MARKETS)))
    server.add("/pages/ru1.html", Route(fx.page("КНДР", ["КНДР передала России снаряды и ракеты, сообщила разведка Украины, ссылаясь на спутниковые снимки порта Раджин и данные о поставках."] * 2, "ru")))
    server.add("/pages/ko1.html", Route(fx.page("북한군", ["국가정보원은 북한군 수천 명이 러시아 쿠르스크 전선에 추가로 투입됐다고 국회 정보위원회에 보고했다고 밝혔다."] * 2, "ko")))
    return server


def feeds(server, broken=True):
    names = ["rss", "atom", "ru", "ko"] + (["broken", "error"] if broken else [])
    return [FeedSource(name=n, url=server.url(f"/{n}.xml"), outlet=n.upper()) for n in names]


def query(db, sql):
    con = connect(db, read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def assert_story_axis_current(db):
    """The story facts the pipeline kept up to date equal the same facts computed from scratch."""
    fresh = "SELECT * EXCLUDE (updated_at) FROM story_axis_of((SELECT list(id) FROM story_clusters), now())"
    kept = "SELECT * EXCLUDE (updated_at) FROM story_axis"
    assert query(db, f"({kept} EXCEPT {fresh}) UNION ALL ({fresh} EXCEPT {kept})") == []


def test_full_pass_then_idempotent_rerun(site, db, tmp_path, fast_http, repo_root):
    tagger = Tagger.from_file(repo_root / "config/topics.yaml")
    first = run_pass(feeds(site), db, fast_http, tagger, workers=4)

    assert (first.feeds_ok, first.feeds_failed) == (4, 2)
    assert first.entries_seen == 6  # 3 rss + 1 atom + 1 ru + 1 ko
    assert first.articles_new == 5 and first.duplicates == 1  # markets-copy is an exact copy
    kinds = {(e["feed"], e["kind"]) for e in first.errors}
    assert {("broken", "not_a_feed"), ("error", "http_status"), ("rss", "page_http_status")} <= kinds

    urls = {r[0] for r in query(db, "SELECT canonical_url FROM articles")}
    assert site.url("/pages/troops.html") in urls  # utm_* stripped
    assert site.url("/pages/markets.html") in urls  # fragment stripped
    titles = {r[0] for r in query(db, "SELECT title FROM articles")}
    assert fx.RUSSIAN_TITLE in titles and fx.KOREAN_TITLE in titles  # legacy encodings decoded
    missing = query(db, "SELECT fetch_status, summary, fetch_error FROM articles WHERE canonical_url LIKE '%missing%'")
    assert missing == [("failed", "Summary kept when the page fails.", "http_status: HTTP 404")]
    dup = query(db, "SELECT d.canonical_url, a.canonical_url FROM article_duplicates d JOIN articles a ON a.id = d.article_id")
    assert dup == [(site.url("/pages/markets-copy.html"), site.url("/pages/markets.html"))]
    axis = {r[0] for r in query(db, "SELECT a.title FROM articles a JOIN article_tags t ON t.article_id = a.id WHERE t.is_axis")}
    assert axis == {"North Korean troops reach Kursk", fx.RUSSIAN_TITLE, fx.KOREAN_TITLE}
    fetches = dict(query(db, "SELECT feed, status FROM feed_fetches"))
    assert fetches == {"rss": "ok", "atom": "ok", "ru": "ok", "ko": "ok", "broken": "error", "error": "error"}

    counts = "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM article_duplicates), (SELECT count(*) FROM article_tags)"
    before = query(db, counts)
    snapshot = None if str(db).startswith("ducklake:") else snapshot_path(db)
    published = snapshot and snapshot.stat().st_mtime_ns
    second = run_pass(feeds(site), db, fast_http, tagger, workers=4)
    assert second.articles_new == 0 and second.duplicates == 0 and second.axis_new == 0
    assert query(db, counts) == before
    assert Path(second.report).exists()  # a report for every run...
    assert Path(second.report).is_relative_to(tmp_path)  # beside the warehouse, never in the working folder
    if snapshot:  # ...but nothing new to publish: the snapshot is not copied again
        assert snapshot.stat().st_mtime_ns == published
    statuses = dict(query(db, f"SELECT feed, status FROM feed_fetches WHERE run_id = '{second.run_id}'"))
    assert statuses["rss"] == "not_modified"  # ETag -> 304
    assert statuses["atom"] == "unchanged"  # no validators: same body hash, not parsed
    streak = dict(query(db, "SELECT name, failure_streak FROM feeds"))
    assert streak["error"] == 2 and streak["rss"] == 0
    assert query(db, "SELECT count(*) FROM pipeline_runs WHERE status = 'finished'") == [(2,)]


def test_page_fetched_once_across_runs_even_when_feed_changes(site, db, tmp_path, fast_http, repo_root):
    tagger = Tagger.from_file(repo_root / "config/topics.yaml")
    run_pass(feeds(site, broken=False), db, fast_http, tagger)
    site.routes["/rss.xml"].etag = None
    site.routes["/rss.xml"].body = fx.RSS2.replace("Asian markets rise", "Asian markets rise again")
    hits = site.routes["/pages/troops.html"].hits
    second = run_pass(feeds(site, broken=False), db, fast_http, tagger)
    assert second.entries_seen == 3 and second.articles_new == 0  # only the changed feed is parsed
    assert site.routes["/pages/troops.html"].hits == hits  # known URL: not fetched again


def test_retag_keeps_history_of_versions(site, db, tmp_path, fast_http, repo_root):
    from axiswatch.pipeline import retag

    run_pass(feeds(site, broken=False), db, fast_http, Tagger.from_file(repo_root / "config/topics.yaml"))
    narrower = tmp_path / "topics.yaml"
    text = (repo_root / "config/topics.yaml").read_text(encoding="utf-8")
    # Drop КНДР (ru, uk) and the port of Rajin, the story's other name for North Korea.
    narrower.write_text(text.replace('"кндр", ', '').replace(', "раджин*"', ''), encoding="utf-8")
    assert narrower.read_text(encoding="utf-8") != text
    new = Tagger.from_file(narrower)
    russian_story = "SELECT count(*) FROM v_axis_stories WHERE headline = '%s'" % fx.RUSSIAN_TITLE
    assert query(db, russian_story) == [(1,)]
    summary = retag(db, new, batch_size=2)  # several batches: each written while the next is read
    assert summary.articles == 5 and summary.changed == 1  # the Russian КНДР story is no longer axis
    versions = query(db, "SELECT tagger_version, count(*) FROM article_tags GROUP BY 1 ORDER BY 1")
    assert len(versions) == 2 and all(n == 5 for _, n in versions)
    latest = query(db, "SELECT DISTINCT tagger_version FROM v_article_tags_latest")
    assert latest == [(new.version,)]
    changes = query(db, f"SELECT title FROM tag_changes('{Tagger.from_file(repo_root / 'config/topics.yaml').version}', '{new.version}')")
    assert changes == [(fx.RUSSIAN_TITLE,)]
    assert query(db, russian_story) == [(0,)]  # the story-level facts followed the new tags
    assert_story_axis_current(db)


def test_clusters_are_stable_across_runs_and_fresh_processes(site, db, tmp_path, fast_http, repo_root):
    from axiswatch.pipeline import cluster_new_articles

    tagger = Tagger.from_file(repo_root / "config/topics.yaml")
    first = run_pass(feeds(site, broken=False), db, fast_http, tagger)
    assert first.stories_new == 5  # five distinct stories (the markets copy is an exact duplicate)
    before = query(db, "SELECT article_id, cluster_id FROM article_clusters ORDER BY 1")
    stories = query(db, "SELECT id, member_count, outlets_count FROM story_clusters ORDER BY 1")
    markets = [s for s in stories if s[1] == 2]
    assert len(markets) == 1 and markets[0][2] == 2  # RSS + ATOM carried the markets story

    # A near-duplicate arriving in a later run (a fresh index rebuilt from DuckDB) joins the story.
    site.add("/pages/troops-copy.html", Route(fx.page("Seoul: more troops", ["(Wire) " + fx.TROOPS[0], *fx.TROOPS[1:]])))
    site.add("/copy.xml", Route(fx.RSS2.replace("/pages/troops.html", "/pages/troops-copy.html")
                                .replace("tw-1", "tw-copy").replace("A page that is gone", "Gone again"),
                                content_type="application/rss+xml"))
    later = run_pass([FeedSource(name="copy", url=site.url("/copy.xml"))], db, fast_http, tagger)
    assert later.articles_new == 1 and later.stories_new == 0
    after = dict(query(db, "SELECT article_id, cluster_id FROM article_clusters"))
    assert all(after[a] == c for a, c in before)  # nothing renumbered
    troops = query(db, "SELECT cluster_id FROM article_clusters c JOIN articles a ON a.id = c.article_id WHERE a.canonical_url LIKE '%troops%'")
    assert len({r[0] for r in troops}) == 1
    axis = query(db, "SELECT copies, outlets, headline FROM v_axis_stories WHERE headline LIKE 'North Korean troops%'")
    assert axis == [(2, 2, "North Korean troops reach Kursk")]
    assert_story_axis_current(db)
    assert cluster_new_articles(db).articles == 0  # rerun: nothing left to cluster


def test_a_pass_collects_garbage_less_often_and_restores_the_collector(site, tmp_path, fast_http, repo_root):
    import gc

    from axiswatch.collection import NIGHT_THRESHOLDS, fewer_collections

    before = gc.get_threshold()
    assert before != NIGHT_THRESHOLDS
    seen = set()
    tagger = Tagger.from_file(repo_root / "config/topics.yaml")
    run_pass(feeds(site), tmp_path / "w.duckdb", fast_http, tagger, workers=4,
             progress=lambda stage, done, total: seen.add(gc.get_threshold()))
    assert seen == {NIGHT_THRESHOLDS}  # every stage ran with them
    assert gc.get_threshold() == before

    with pytest.raises(RuntimeError), fewer_collections():
        raise RuntimeError("a failed pass")
    assert gc.get_threshold() == before
