"""`axiswatch query` runs analysts' SQL so that it can read the warehouse and nothing else: every
way out we know of is refused with one line, and the warehouse and its snapshot are unchanged
byte for byte afterwards (before the sandbox, one COPY replaced the warehouse with a 7-byte CSV)."""

import hashlib
import shutil
import sqlite3

import duckdb
import pytest
from conftest import run_axiswatch

from warehouse.snapshot import snapshot_path


def digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def warehouse(demo_warehouse, tmp_path):
    """A private copy of the demo warehouse and its snapshot: a failed escape must not spoil the
    warehouse the other tests read."""
    db = tmp_path / "w.duckdb"
    shutil.copyfile(demo_warehouse, db)
    shutil.copyfile(snapshot_path(demo_warehouse), snapshot_path(db))
    return db


def escapes(db, outside):
    """(what it tries, SQL): writing, reading or attaching outside, extensions, configuration, DDL."""
    snap = snapshot_path(db)
    return [
        ("overwrite the warehouse", f"COPY (SELECT 'oops' AS x) TO '{db}' (FORMAT csv)"),
        ("overwrite the snapshot", f"COPY (SELECT 'oops' AS x) TO '{snap}' (FORMAT csv)"),
        ("write a file", f"COPY articles TO '{outside}/leak.csv'"),
        ("write Parquet", f"COPY (SELECT * FROM articles) TO '{outside}/leak.parquet' (FORMAT parquet)"),
        ("export the database", f"EXPORT DATABASE '{outside}/export'"),
        ("attach a new file", f"ATTACH '{outside}/new.duckdb' AS n"),
        ("attach the warehouse for writing", f"ATTACH '{db}' AS w2"),
        ("install an extension", "INSTALL httpfs"),
        ("load an extension", "LOAD fts"),
        ("load a file as an extension", f"LOAD '{outside}/evil.duckdb_extension'"),
        ("lift the sandbox", "SET enable_external_access = true"),
        ("unlock the configuration", "SET lock_configuration = false"),
        ("reset the lock", "RESET lock_configuration"),
        ("change a setting by pragma", "PRAGMA memory_limit = '1GB'"),
        ("read any file as CSV", "SELECT * FROM read_csv('/etc/passwd')"),
        ("read any file as text", "SELECT * FROM read_text('/etc/passwd')"),
        ("read the warehouse file raw", f"SELECT * FROM read_blob('{db}')"),
        ("list folders", "SELECT * FROM glob('/etc/*')"),
        ("create a table", "CREATE TABLE t AS SELECT 1 AS x"),
        ("create a temporary table", "CREATE TEMP TABLE t AS SELECT 1 AS x"),
        ("drop a table", "DROP TABLE articles"),
        ("delete rows", "DELETE FROM articles"),
        ("a second statement", f"SELECT 1; COPY (SELECT 1) TO '{outside}/second.csv'"),
        ("call a procedure", "CALL checkpoint()"),
        ("file logging under the lock", f"SELECT * FROM enable_logging(storage = 'file', storage_path = '{outside}/logs')"),
        ("profiling output", f"SELECT * FROM enable_profiling(save_location = '{outside}/profile.txt')"),
        ("unchecked SQL in query()", f"SELECT * FROM query('COPY (SELECT 1) TO ''{outside}/q.csv''')"),
        ("a secret store", "CREATE SECRET s (TYPE s3, KEY_ID 'k', SECRET 's')"),
        ("an empty query", "   "),
    ]


def test_every_escape_is_refused_in_one_line_and_changes_nothing(warehouse, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    snap = snapshot_path(warehouse)
    before = digest(warehouse), digest(snap)
    for what, sql in escapes(warehouse, outside):
        result = run_axiswatch("query", sql, "--db", str(warehouse))
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 2, (what, result.returncode, result.stderr)
        assert len(lines) == 1 and lines[0].startswith("error: "), (what, result.stderr)
        assert "Traceback" not in result.stderr and result.stdout == "", what
        assert (digest(warehouse), digest(snap)) == before, what
    assert list(outside.iterdir()) == []  # nothing written, not even an empty folder
    # The sandbox still reads: the same snapshot answers, in every format.
    ok = run_axiswatch("query", "SELECT count(*) AS n FROM articles", "--db", str(warehouse), "--format", "json")
    assert ok.returncode == 0 and ok.stdout.strip() == '{"n": 42}', ok.stderr


def test_the_sandbox_itself_stops_what_the_statement_check_lets_through(warehouse, tmp_path):
    """DuckDB's sandbox is the wall, the statement check only a clearer message: with the check
    bypassed, the sandboxed connection still refuses to write or read outside."""
    from warehouse.sandbox import open_sandboxed

    con = open_sandboxed(warehouse)
    try:
        for sql in [f"COPY (SELECT 1) TO '{tmp_path}/x.csv'", f"ATTACH '{tmp_path}/x.duckdb'", "LOAD fts",
                    "SET enable_external_access = true", "SELECT * FROM read_text('/etc/passwd')",
                    f"EXPORT DATABASE '{tmp_path}/e'"]:
            with pytest.raises(duckdb.Error):
                con.execute(sql)
        assert con.execute("SELECT count(*) FROM v_axis_stories").fetchone() == (17,)
    finally:
        con.close()
    assert list(tmp_path.glob("x.*")) == [] and not (tmp_path / "e").exists()


def test_queries_analysts_write_still_run(warehouse):
    """The check refuses statements, not reading: CTEs, SHOW/DESCRIBE/SUMMARIZE, several queries
    (the last one's rows), DuckDB's catalog functions."""
    for sql, expect in [
        ("WITH s AS (SELECT * FROM v_axis_stories) SELECT count(*) AS n FROM s", '{"n": 17}'),
        ("FROM v_axis_stories SELECT count(*) AS n", '{"n": 17}'),
        ("SELECT 1 AS n; SELECT 2 AS n", '{"n": 2}'),
        ("SELECT count(*) > 0 AS n FROM (SHOW TABLES)", '{"n": true}'),
        ("SELECT count(*) AS n FROM duckdb_views() WHERE view_name = 'v_axis_stories'", '{"n": 1}'),
    ]:
        result = run_axiswatch("query", sql, "--db", str(warehouse), "--format", "json")
        assert (result.returncode, result.stdout.strip()) == (0, expect), (sql, result.stderr)
    describe = run_axiswatch("query", "DESCRIBE v_axis_stories", "--db", str(warehouse), "--format", "csv")
    assert describe.returncode == 0 and "matched_terms" in describe.stdout


def test_on_a_lake_the_catalog_scanner_cannot_read_other_files(tmp_path):
    """On a DuckLake the sqlite scanner is loaded, and it opens files itself, outside DuckDB's
    sandbox: sqlite_scan read any SQLite file with external access off, so it is refused."""
    from warehouse.db import open_warehouse

    lake = f"ducklake:sqlite:{tmp_path}/lake.sqlite"
    open_warehouse(lake).close()
    other = tmp_path / "other.sqlite"
    with sqlite3.connect(other) as con:
        con.execute("CREATE TABLE secret (x TEXT)")
        con.execute("INSERT INTO secret VALUES ('hidden')")
    reads = run_axiswatch("query", "SELECT count(*) AS n FROM articles", "--db", lake, "--format", "json")
    assert (reads.returncode, reads.stdout.strip()) == (0, '{"n": 0}'), reads.stderr
    for sql in [f"SELECT * FROM sqlite_scan('{other}', 'secret')", f"ATTACH 'sqlite:{other}' AS o",
                f"COPY (SELECT 1) TO '{tmp_path}/x.csv'"]:
        result = run_axiswatch("query", sql, "--db", lake)
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1, (sql, result.stderr)
        assert "hidden" not in result.stdout + result.stderr
    assert not (tmp_path / "x.csv").exists()


def test_every_documented_query_runs_in_the_sandbox(demo_warehouse):
    """The sandbox must not refuse what the docs tell analysts to run (README and docs/queries.md)."""
    from conftest import ROOT
    from test_demo import doc_sql

    statements = [s for doc in ("README.md", "docs/queries.md") for s in doc_sql(ROOT / doc)]
    assert len(statements) >= 10
    for statement in statements:
        result = run_axiswatch("query", statement, "--db", str(demo_warehouse), "--format", "json")
        assert result.returncode == 0 and result.stdout.strip(), (statement, result.stderr)
