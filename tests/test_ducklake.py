"""The DuckLake backend: locations, migrations without keys, readers during a write, time travel,
concurrent writers, and the whole pass on a real PostgreSQL catalog."""

import subprocess
import sys
import textwrap
from pathlib import Path

import postgres_server
import pytest

from warehouse.db import connect, for_lake, migrations, open_warehouse
from warehouse.location import Location


def test_location_round_trips_and_defaults():
    assert Location.parse("data/axiswatch.duckdb") == Location("duckdb", "data/axiswatch.duckdb")
    lake = Location.parse("ducklake:sqlite:data/lake.sqlite")
    assert (lake.catalog_kind, str(lake.catalog_file), lake.files_dir) == ("sqlite", "data/lake.sqlite", "data/lake.sqlite.files/")
    pg = Location.parse("ducklake:postgres:dbname=lake host=db?data_path=/shared/lake/")
    assert (pg.catalog_kind, pg.catalog_file, pg.files_dir, str(pg)) == (
        "postgres", None, "/shared/lake/", "ducklake:postgres:dbname=lake host=db?data_path=/shared/lake/")
    with pytest.raises(ValueError, match="data_path"):
        _ = Location.parse("ducklake:postgres:dbname=lake").files_dir


def test_settings_build_the_lake_location_and_name_what_is_missing():
    from axiswatch.config import Settings

    assert Settings(backend="ducklake", lake_catalog="sqlite:data/lake.sqlite").database == "ducklake:sqlite:data/lake.sqlite"
    with pytest.raises(ValueError, match="lake_catalog"):
        Settings(backend="ducklake")
    with pytest.raises(ValueError, match="lake_data_path"):
        Settings(backend="ducklake", lake_catalog="postgres:dbname=lake host=db")


def test_lake_schema_matches_the_file_schema(tmp_path):
    for _, _, sql in migrations():
        adapted = for_lake(sql)
        assert "PRIMARY KEY" not in adapted and " UNIQUE" not in adapted and "CREATE INDEX" not in adapted
    objects = "SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_catalog = current_database() ORDER BY ALL"
    file_con = open_warehouse(tmp_path / "w.duckdb")
    lake_con = open_warehouse(f"ducklake:sqlite:{tmp_path}/lake.sqlite")
    assert lake_con.execute(objects).fetchall() == file_con.execute(objects).fetchall()  # tables and views alike
    assert lake_con.execute("SELECT count(*) FROM tag_changes('a', 'b')").fetchone() == (0,)  # macros too


WRITER = textwrap.dedent("""
    import sys
    from datetime import UTC, datetime
    from warehouse.db import open_warehouse
    from warehouse.load import append_new

    con = open_warehouse(sys.argv[1])
    tag, hold = sys.argv[2], sys.argv[3] == "hold"
    rows = [{"id": f"{tag}-{i}", "canonical_url": f"https://{tag}.example/{i}", "url": "u", "first_seen_at": datetime.now(UTC),
             "content_hash": f"{tag}{i}", "fetch_status": "ok", "run_id": tag} for i in range(50)]
    from warehouse.db import in_transaction

    def write():
        n = append_new(con, "articles", rows, ("id",))
        if hold:
            print("written", flush=True)
            sys.stdin.readline()  # the test reads while this transaction is open
        return n

    print("committed", in_transaction(con, write), flush=True)
""")


def _count(location) -> int:
    con = connect(location, read_only=True)
    try:
        return con.execute("SELECT count(*) FROM articles").fetchone()[0]
    finally:
        con.close()


def test_readers_query_while_the_night_writes_and_travel_back_in_time(tmp_path, repo_root):
    lake = f"ducklake:sqlite:{tmp_path}/lake.sqlite"
    subprocess.run([sys.executable, "-c", WRITER, lake, "first", "go"], cwd=repo_root, check=True, capture_output=True, timeout=120)
    writer = subprocess.Popen([sys.executable, "-c", WRITER, lake, "second", "hold"], cwd=repo_root, text=True,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        assert writer.stdout.readline().strip() == "written"
        assert _count(lake) == 50  # a reader is not blocked, and sees only committed data
        out, err = writer.communicate("\n", timeout=120)
        assert "committed 50" in out, err
    finally:
        writer.kill()
    assert _count(lake) == 100
    con = connect(lake, read_only=True)
    versions = [v for (v,) in con.execute("SELECT snapshot_id FROM lake.snapshots() ORDER BY 1").fetchall()]
    counts = [con.execute(f"SELECT count(*) FROM articles AT (VERSION => {v})").fetchone()[0] for v in versions[-2:]]
    assert counts == [50, 100]  # last night's numbers, reproduced


def test_concurrent_writers_both_land_once(tmp_path, repo_root):
    lake = f"ducklake:sqlite:{tmp_path}/lake.sqlite"
    open_warehouse(lake).close()
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, lake, tag, "go"], cwd=repo_root, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE) for tag in ("a", "b", "c")]
    for writer in writers:
        out, err = writer.communicate(timeout=180)
        assert writer.returncode == 0 and "committed 50" in out, err
    con = connect(lake, read_only=True)
    assert con.execute("SELECT run_id, count(*), count(DISTINCT id) FROM articles GROUP BY 1 ORDER BY 1").fetchall() == [
        ("a", 50, 50), ("b", 50, 50), ("c", 50, 50)]


@pytest.fixture(scope="module")
def postgres():
    bin_dir = postgres_server.server_binaries()
    if bin_dir is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed: apt-get install postgresql")
    cluster = postgres_server.start(bin_dir)
    postgres_server.create_database(cluster, bin_dir, "lake")
    yield cluster
    postgres_server.stop(cluster, bin_dir)


def test_full_pass_on_a_postgres_catalog(postgres, server, tmp_path, fast_http, repo_root):
    """Several machines: the catalog in PostgreSQL, the Parquet files on a shared path."""
    import fixtures as fx
    from fixture_server import Route

    from axiswatch.pipeline import run_pass
    from ingest.records import FeedSource
    from transform.tagging import Tagger
    from warehouse.search import search

    server.add("/rss.xml", Route(fx.RSS2, content_type="application/rss+xml", etag='"v1"'))
    server.add("/pages/troops.html", Route(fx.page("Troops reach Kursk", fx.TROOPS)))
    server.add("/pages/markets.html", Route(fx.page("Asian markets rise", fx.MARKETS)))
    lake = f"ducklake:{'postgres:' + postgres.dsn('lake')}?data_path={tmp_path}/shared/"
    tagger = Tagger.from_file(repo_root / "config/topics.yaml")
    sources = [FeedSource(name="rss", url=server.url("/rss.xml"))]
    first = run_pass(sources, lake, fast_http, tagger, reports_dir=tmp_path / "reports")
    assert first.articles_new == 3 and first.axis_new == 1 and first.stories_new == 3
    second = run_pass(sources, lake, fast_http, tagger, reports_dir=tmp_path / "reports")
    assert second.articles_new == 0
    assert list((tmp_path / "shared").rglob("*.parquet"))  # data files on the shared path
    con = connect(lake, read_only=True)
    assert con.execute("SELECT count(*) FROM v_axis_stories").fetchone() == (1,)
    assert [r["title"] for r in search(con, "Kursk").to_pylist()] == ["North Korean troops reach Kursk"]


READER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print(con.execute("SELECT count(*) FROM fts_main_articles.docs").fetchone()[0], flush=True)
sys.stdin.readline()
print(con.execute("SELECT count(*) FROM fts_main_articles.docs").fetchone()[0], flush=True)
"""


def test_a_lake_search_index_is_replaced_whole_while_a_reader_holds_it(server, tmp_path, fast_http, repo_root):
    """Readers on other machines open the lake's index file where DuckDB's lock does not hold:
    a refresh writes a new file and renames it over the old, so a reader keeps a whole index (the
    old one) and the next reader gets the new one; nothing is left beside it."""
    import fixtures as fx
    from fixture_server import Route

    from axiswatch.pipeline import run_pass
    from ingest.records import FeedSource
    from transform.tagging import Tagger
    from warehouse.search import index_file, refresh_index, search

    server.add("/rss.xml", Route(fx.RSS2, content_type="application/rss+xml"))
    server.add("/pages/troops.html", Route(fx.page("Troops reach Kursk", fx.TROOPS)))
    server.add("/pages/markets.html", Route(fx.page("Asian markets rise", fx.MARKETS)))
    lake = f"ducklake:sqlite:{tmp_path}/lake.sqlite?data_path={tmp_path}/shared/"
    tagger = Tagger.from_file(repo_root / "config/topics.yaml")
    run_pass([FeedSource(name="rss", url=server.url("/rss.xml"))], lake, fast_http, tagger,
             reports_dir=tmp_path / "reports")
    con = connect(lake)
    try:
        path = index_file(con)
    finally:
        con.close()
    reader = subprocess.Popen([sys.executable, "-c", READER, path], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True)
    try:
        before = int(reader.stdout.readline())
        con = connect(lake)
        try:
            con.execute("INSERT INTO articles SELECT * REPLACE ('x1' AS id, 'https://x/1' AS canonical_url,"
                        " 'Shoigu lands in Pyongyang' AS title, 'Shoigu lands in Pyongyang for talks.' AS text,"
                        " '' AS summary, 'h-x1' AS content_hash) FROM articles LIMIT 1")
            assert refresh_index(con, full=True)["articles"] == before + 1
            assert [r["title"] for r in search(con, "Shoigu").to_pylist()] == ["Shoigu lands in Pyongyang"]
        finally:
            con.close()
        reader.stdin.write("\n")
        reader.stdin.flush()
        assert int(reader.stdout.readline()) == before  # the reader's file was never touched
    finally:
        reader.kill()
        reader.wait()
    assert sorted(p.name for p in Path(path).parent.iterdir() if p.name.startswith(Path(path).name)) == [Path(path).name]


def test_airflow_tasks_resolve_lake_paths_against_home(monkeypatch, tmp_path):
    from axiswatch.orchestration import settings_for

    monkeypatch.setenv("AXISWATCH_HOME", str(tmp_path))
    (tmp_path / "s.yaml").write_text("backend: ducklake\nlake_catalog: sqlite:data/lake.sqlite\nlake_data_path: data/lake/\n")
    assert settings_for("s.yaml").database == f"ducklake:sqlite:{tmp_path}/data/lake.sqlite?data_path={tmp_path}/data/lake/"
    (tmp_path / "p.yaml").write_text("backend: ducklake\nlake_catalog: 'postgres:dbname=l host=db'\nlake_data_path: /shared/lake/\n")
    assert settings_for("p.yaml").database == "ducklake:postgres:dbname=l host=db?data_path=/shared/lake/"


def test_maintenance_and_export_on_a_lake(tmp_path, repo_root):
    """Backup (the SQLite catalog, copied online), retention and the Parquet export on a lake."""
    import sqlite3

    from warehouse.maintenance import (
        apply_retention,
        checkpoint_and_backup,
        export_parquet,
    )

    lake = f"ducklake:sqlite:{tmp_path}/lake.sqlite"
    subprocess.run([sys.executable, "-c", WRITER, lake, "x", "go"], cwd=repo_root, check=True, capture_output=True, timeout=120)
    backup = checkpoint_and_backup(lake, tmp_path / "backups", keep=1)
    with sqlite3.connect(backup) as copy:  # a usable catalog naming the same tables
        assert copy.execute("SELECT count(*) FROM ducklake_table WHERE table_name = 'articles'").fetchone()[0] >= 1
    assert apply_retention(lake, tmp_path / "staging", days=30) == {"fetch_rows_deleted": 0, "staging_folders_deleted": 0}
    counts = export_parquet(lake, tmp_path / "export")
    assert counts["articles"] == 50 and list((tmp_path / "export/articles").rglob("*.parquet"))
    out = subprocess.run([sys.executable, "-m", "axiswatch", "export", "--db", lake, "--out", str(tmp_path / "cli")],
                         cwd=repo_root, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0 and "articles: 50 rows" in out.stderr, out.stderr
