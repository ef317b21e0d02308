from datetime import UTC, datetime

import duckdb
import pytest

from ingest.records import FeedSource
from warehouse import load
from warehouse.db import WarehouseError, connect, migrate, migrations, open_warehouse


def test_migrations_apply_once_and_are_recorded(tmp_path):
    db = tmp_path / "w.duckdb"
    con = open_warehouse(db)
    assert migrate(con) == []  # second time: nothing pending
    versions = [r[0] for r in con.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()]
    assert versions == [v for v, _, _ in migrations()]
    tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert {"feeds", "feed_fetches", "articles", "article_tags", "pipeline_runs", "article_duplicates"} <= tables
    # No index the load must maintain on articles beyond its keys (009 dropped the unused one).
    assert con.execute("SELECT count(*) FROM duckdb_indexes() WHERE table_name = 'articles'").fetchone()[0] == 0
    con.close()


def test_unwritable_warehouse_gives_a_clear_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(WarehouseError, match="cannot open warehouse"):
        connect(blocker / "sub" / "w.duckdb")


def test_sync_feeds_upserts_and_keeps_state(tmp_path):
    con = open_warehouse(tmp_path / "w.duckdb")
    load.sync_feeds(con, [FeedSource(name="a", url="https://a/rss")])
    con.execute("UPDATE feeds SET etag = 'v1' WHERE name = 'a'")
    load.sync_feeds(con, [FeedSource(name="a", url="https://a/new", outlet="A")])
    assert con.execute("SELECT url, outlet, etag FROM feeds").fetchall() == [("https://a/new", "A", "v1")]
    assert load.feed_states(con)["a"].etag == "v1"


def test_text_with_surrogates_and_nul_round_trips_after_cleaning(tmp_path):
    from ingest.text import clean_string

    con = open_warehouse(tmp_path / "w.duckdb")
    value = clean_string("ok \ud800 text\x00 Ωμέγα 북한")
    con.execute("CREATE TABLE t (v VARCHAR)")
    con.execute("INSERT INTO t VALUES (?)", [value])
    assert con.execute("SELECT v FROM t").fetchone()[0] == "ok  text Ωμέγα 북한"
    with pytest.raises(Exception):
        con.execute("INSERT INTO t VALUES (?)", ["bad \ud800"])


def test_run_rows(tmp_path):
    con = open_warehouse(tmp_path / "w.duckdb")
    run = load.RunRecord(run_id="r1", started_at=datetime.now(UTC))
    run.status, run.finished_at, run.errors = "finished", datetime.now(UTC), [{"feed": "x"}]
    load.load_pass(con, run, [], [], [], run.finished_at)
    row = con.execute("SELECT status, errors FROM pipeline_runs").fetchone()
    assert row[0] == "finished" and '"feed"' in row[1]
    assert isinstance(con, duckdb.DuckDBPyConnection)


def test_load_writes_every_article_column_and_skips_stored_ids(tmp_path):
    """Every column of ``articles`` is filled from the Article (none left NULL by a forgotten
    field), values round-trip, and a second load of the same ids stores nothing."""
    from transform.articles import Article

    con = open_warehouse(tmp_path / "w.duckdb")
    now = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)
    article = Article(
        id="a1", canonical_url="https://x.example/a", url="https://x.example/a?utm_source=rss", feed="f",
        outlet="X", title="Ωμέγα 북한", summary="s", text="body", language="ko", author="Kim",
        published_at=datetime(2026, 11, 26, tzinfo=UTC), content_hash="h1", fetch_status="failed",
        fetch_error="timeout", http_status=504, guid="g1", raw_entry='{"title": "Ωμέγα", "tags": ["x"]}',
    )
    run = load.RunRecord(run_id="r1", started_at=now)
    assert load.load_pass(con, run, [], [article], [], now) == (1, 0)
    row = con.execute("SELECT * FROM articles").to_arrow_table().to_pylist()[0]
    assert all(value is not None for value in row.values()), row
    assert row["title"] == "Ωμέγα 북한" and row["http_status"] == 504 and row["first_seen_at"] == now
    assert row["published_at"] == article.published_at and row["run_id"] == "r1"
    assert row["raw_entry"] == '{"title": "Ωμέγα", "tags": ["x"]}'
    assert load.load_pass(con, run, [], [article], [], now) == (0, 0)


def test_load_writes_every_fetch_log_and_duplicate_column(tmp_path):
    """The fetch log and duplicate rows are built column by column too: every column filled,
    numbers kept as numbers, and an ok fetch's empty error stored as NULL."""
    from ingest.records import FeedResult, FeedState
    from transform.articles import Duplicate

    con = open_warehouse(tmp_path / "w.duckdb")
    now = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)
    failed = FeedResult(source=FeedSource(name="f", url="https://x.example/rss"), status="error", state=FeedState(),
                        http_status=503, bytes=1234, duration_ms=87, error_kind="http_status", error="HTTP 503",
                        feed_format="rss20")
    ok = FeedResult(source=FeedSource(name="g", url="https://y.example/rss"), status="ok", state=FeedState(),
                    http_status=200, bytes=10, duration_ms=5, feed_format="atom10")
    copy = Duplicate("https://m.example/a", "a1", "https://m.example/a?x=1", "f", "M", "Ωμέγα 북한")
    run = load.RunRecord(run_id="r1", started_at=now)
    load.load_pass(con, run, [failed, ok], [], [copy], now)

    fetches = {r["feed"]: r for r in con.execute("SELECT * FROM feed_fetches").to_arrow_table().to_pylist()}
    assert all(value is not None for value in fetches["f"].values()), fetches["f"]
    assert (fetches["f"]["http_status"], fetches["f"]["bytes"], fetches["f"]["duration_ms"]) == (503, 1234, 87)
    assert fetches["f"]["fetched_at"] == now and fetches["f"]["error_kind"] == "http_status"
    assert fetches["g"]["error"] is None and fetches["g"]["error_kind"] is None
    dup = con.execute("SELECT * FROM article_duplicates").to_arrow_table().to_pylist()[0]
    assert all(value is not None for value in dup.values()), dup
    assert dup["title"] == "Ωμέγα 북한" and dup["reason"] == "content_hash" and dup["run_id"] == "r1"


def test_rows_built_ahead_are_loaded_only_for_the_articles_given(tmp_path):
    """Rows converted while pages arrive include copies found to be exact duplicates later: the
    load writes exactly the articles it is given, converting any the rows lack."""
    from transform.articles import Article
    from warehouse.rows import ArticleRows

    def article(i: int) -> Article:
        return Article(
            id=f"a{i}", canonical_url=f"https://x.example/{i}", url=f"https://x.example/{i}", feed="f", outlet="X",
            title=f"T{i}", summary="", text=f"body {i}", language="en", author="", published_at=None,
            content_hash=f"h{i}", fetch_status="ok", fetch_error="", http_status=200, guid="", raw_entry="{}",
        )

    rows = ArticleRows(chunk_size=4)
    rows.add(article(i) for i in range(3))
    assert (len(rows), rows.converted) == (3, 0)  # less than a chunk waits
    rows.add(article(i) for i in range(2, 6))  # an id added twice (a2) is one row
    assert (len(rows), rows.converted) == (6, 6)  # a full chunk is in Arrow before the load
    rows.add([article(6)])
    assert (len(rows), rows.converted) == (7, 6)
    rows.convert()  # the last partial chunk, once no more pages come
    assert rows.converted == 7

    con = open_warehouse(tmp_path / "w.duckdb")
    now = datetime(2026, 11, 27, 4, 0, tzinfo=UTC)
    run = load.RunRecord(run_id="r1", started_at=now)
    wanted = [article(i) for i in (0, 2, 5, 7)]  # a7 was never added ahead
    assert load.load_pass(con, run, [], wanted, [], now, prebuilt=rows) == (4, 0)
    stored = con.execute("SELECT id, text, run_id, first_seen_at FROM articles ORDER BY id").fetchall()
    assert stored == [(f"a{i}", f"body {i}", "r1", now) for i in (0, 2, 5, 7)]
    assert "_keep" not in [r[0] for r in con.execute("DESCRIBE articles").fetchall()]
