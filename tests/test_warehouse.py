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
    load.start_run(con, run)
    run.status, run.finished_at, run.errors = "success", datetime.now(UTC), [{"feed": "x"}]
    load.load_pass(con, run, [], [], [], run.finished_at)
    row = con.execute("SELECT status, errors FROM pipeline_runs").fetchone()
    assert row[0] == "success" and '"feed"' in row[1]
    assert isinstance(con, duckdb.DuckDBPyConnection)
