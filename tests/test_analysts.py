"""The analysts' side: snapshot reads while the night writes, query/stories/report commands,
view comments, and the HTML report rendered by a real headless Chromium."""

import json
import shutil
import socket
import subprocess
import sys

import duckdb
import pyarrow.parquet as pq
import pytest

from warehouse.snapshot import publish_snapshot, snapshot_path


def axiswatch(*args, cwd, timeout=300):
    return subprocess.run([sys.executable, "-m", "axiswatch", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def demo_db(tmp_path_factory):
    from conftest import ROOT

    db = tmp_path_factory.mktemp("analysts") / "w.duckdb"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = axiswatch("demo", "--db", str(db), "--port", str(port), "--json", cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return db


def test_query_reads_the_snapshot_while_a_writer_holds_the_warehouse(demo_db, repo_root, tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(demo_db)!r}); print('locked', flush=True); time.sleep(60)"],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        with pytest.raises(duckdb.IOException):  # the writer's file is really locked
            duckdb.connect(str(demo_db), read_only=True)
        result = axiswatch("query", "SELECT count(*) AS n FROM v_axis_stories", "--db", str(demo_db), "--format", "json",
                           cwd=repo_root)
        assert result.returncode == 0, result.stderr
        assert json.loads(result.stdout) == {"n": 17}
        stories = axiswatch("stories", "--since", "3650d", "--db", str(demo_db), "--format", "json", cwd=repo_root)
        rows = [json.loads(line) for line in stories.stdout.splitlines()]
        assert len(rows) == 17 and {"headline", "url", "outlets", "countries", "topics"} <= set(rows[0])
    finally:
        holder.kill()
        holder.wait()


def test_query_formats_and_errors(demo_db, repo_root, tmp_path):
    csv = axiswatch("query", "SELECT outlet, count(*) AS n FROM v_articles GROUP BY 1 ORDER BY 1", "--db", str(demo_db),
                    "--format", "csv", cwd=repo_root)
    assert csv.stdout.splitlines()[0] == '"outlet","n"' and len(csv.stdout.splitlines()) == 8
    out = tmp_path / "s.parquet"
    pq_run = axiswatch("query", "SELECT * FROM v_axis_stories", "--db", str(demo_db), "--format", "parquet",
                       "--out", str(out), cwd=repo_root)
    assert pq_run.returncode == 0 and pq.read_table(out).num_rows == 17
    bad = axiswatch("query", "SELECT nope FROM nowhere", "--db", str(demo_db), cwd=repo_root)
    assert bad.returncode == 2 and "query failed" in bad.stderr
    missing = axiswatch("query", "SELECT 1", "--db", str(tmp_path / "none.duckdb"), cwd=repo_root)
    assert missing.returncode == 2 and "no snapshot" in missing.stderr


def test_views_are_documented_with_comments(demo_db):
    con = duckdb.connect(str(snapshot_path(demo_db)), read_only=True)
    comments = dict(con.execute("SELECT view_name, comment FROM duckdb_views() WHERE view_name LIKE 'v_%'").fetchall())
    for view in ("v_axis_stories", "v_articles", "v_daily_axis_counts", "v_outlet_coverage", "v_feed_health"):
        assert comments.get(view), view
    columns = dict(con.execute("SELECT column_name, comment FROM duckdb_columns() WHERE table_name = 'v_axis_stories'").fetchall())
    assert columns["headline"] and columns["matched_terms"]


def test_snapshot_swap_never_breaks_an_open_reader(tmp_path):
    db = tmp_path / "w.duckdb"
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE t AS SELECT 1 AS v")
    con.close()
    publish_snapshot(db)
    reader = duckdb.connect(str(snapshot_path(db)), read_only=True)
    con = duckdb.connect(str(db))
    con.execute("INSERT INTO t VALUES (2)")
    con.close()
    publish_snapshot(db)
    assert reader.execute("SELECT count(*) FROM t").fetchone() == (1,)  # the old snapshot, still consistent
    # A new reader (another process: DuckDB caches open files per process) sees the new snapshot.
    fresh = subprocess.run([sys.executable, "-c", "import duckdb, sys; print(duckdb.connect(sys.argv[1], read_only=True)"
                            ".execute('SELECT count(*) FROM t').fetchone()[0])", str(snapshot_path(db))],
                           capture_output=True, text=True, timeout=60)
    assert fresh.stdout.strip() == "2"


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    if shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], capture_output=True, timeout=600,
                       env={"DEBIAN_FRONTEND": "noninteractive", "PATH": "/usr/sbin:/usr/bin:/sbin:/bin"})
    found = shutil.which("chromium")
    if not found:
        pytest.skip("Debian's chromium is not installed and could not be installed here (apt-get install chromium)")
    return found


CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def test_report_renders_in_headless_chromium(demo_db, repo_root, tmp_path):
    out = tmp_path / "report.html"
    result = axiswatch("report", "--since", "3650d", "--out", str(out), "--db", str(demo_db), cwd=repo_root)
    assert result.returncode == 0, result.stderr
    html = out.read_text(encoding="utf-8")
    assert "<script" not in html and "http://" not in html.split("<body>")[0]  # nothing to fetch to view it
    browser = chromium()
    profile = tmp_path / "profile"
    dom = subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--dump-dom", out.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert 'id="timeline"' in dom.stdout and dom.stdout.count('class="bar"') >= 1
    assert dom.stdout.count('class="story"') >= 17
    shot = tmp_path / "report.png"
    subprocess.run([browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--window-size=1000,1200",
                    f"--screenshot={shot}", out.as_uri()], capture_output=True, timeout=120)
    assert shot.exists() and shot.stat().st_size > 20_000  # a rendered page, not a blank one


def test_full_text_search_over_the_snapshot(demo_db, repo_root):
    hits = axiswatch("search", "artillery shells containers", "--db", str(demo_db), "--format", "json", cwd=repo_root)
    assert hits.returncode == 0, hits.stderr
    rows = [json.loads(line) for line in hits.stdout.splitlines()]
    assert rows[0]["title"] == "Satellite images show steady flow of North Korean containers to Russia"
    assert rows == sorted(rows, key=lambda r: -r["relevance"])
    axis = axiswatch("search", "Ukraine", "--axis-only", "--db", str(demo_db), "--format", "json", cwd=repo_root)
    axis_rows = [json.loads(line) for line in axis.stdout.splitlines()]
    assert axis_rows and all(r["is_axis"] for r in axis_rows)
    russian = axiswatch("search", "снаряды", "--db", str(demo_db), "--format", "json", cwd=repo_root)
    assert "КНДР" in json.loads(russian.stdout.splitlines()[0])["title"]


def test_missing_extension_names_the_package(monkeypatch):
    import importlib.util

    from warehouse.db import WarehouseError, load_extension

    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(WarehouseError, match=r"pip install duckdb-extension-fts==\d"):
        load_extension(duckdb.connect(), "fts")


def test_search_index_refresh_indexes_only_what_is_new_until_a_full_rebuild(tmp_path):
    """After a load only the recent part is rebuilt; search answers from both parts; a recent part
    past a fifth of the archive (or a maintenance run) folds everything into one index."""
    from warehouse.db import open_warehouse
    from warehouse.search import refresh_index, search

    con = open_warehouse(tmp_path / "w.duckdb")

    def add(first: int, count: int, words: str) -> None:
        con.execute(
            "INSERT INTO articles (id, canonical_url, url, title, text, first_seen_at, content_hash, fetch_status, run_id)"
            " SELECT 'a' || i, 'https://x.example/' || i, 'https://x.example/' || i, 'Story ' || i, ? || ' ' || i,"
            " now(), md5('a' || i), 'ok', 'r' FROM range(?, ?) t(i)",
            [words, first, first + count],
        )

    add(0, 20, "sanctions on shipping")
    assert refresh_index(con) == {"rebuilt": "all", "articles": 20}
    add(20, 3, "artillery shells by rail")
    assert refresh_index(con) == {"rebuilt": "recent", "articles": 3}
    found = {row["title"] for row in search(con, "artillery").to_pylist()}
    assert found == {"Story 20", "Story 21", "Story 22"}
    assert len(search(con, "sanctions").to_pylist()) == 20
    add(23, 5, "artillery shells by sea")  # 8 recent > 20% of 20 archived
    assert refresh_index(con) == {"rebuilt": "all", "articles": 28}
    assert len(search(con, "artillery", limit=50).to_pylist()) == 8
    assert refresh_index(con) == {"rebuilt": "recent", "articles": 0}
    assert len(search(con, "artillery", limit=50).to_pylist()) == 8
    add(28, 1, "artillery")
    con.close()
    from warehouse.maintenance import rebuild_search_index

    assert rebuild_search_index(tmp_path / "w.duckdb") == {"rebuilt": "all", "articles": 29}


def test_the_index_is_built_on_the_configured_threads_and_the_setting_restored(tmp_path, monkeypatch):
    """``search.threads`` (default: half the cores) is DuckDB's thread count while the index is
    built; the connection (and
    the other connections of the same DuckDB file in this process) get their own back after it,
    whether the build succeeded or failed."""
    import warehouse.search as search_module
    from warehouse.db import open_warehouse
    from warehouse.search import refresh_index
    from warehouse.settings import SearchSettings

    con = open_warehouse(tmp_path / "w.duckdb")
    con.execute(
        "INSERT INTO articles (id, canonical_url, url, title, text, first_seen_at, content_hash, fetch_status, run_id)"
        " SELECT 'a' || i, 'https://x.example/' || i, 'https://x.example/' || i, 'Story ' || i, 'sanctions ' || i,"
        " now(), md5('a' || i), 'ok', 'r' FROM range(0, 5) t(i)")
    con.execute("SET threads = 2")
    other = open_warehouse(tmp_path / "w.duckdb")  # the run's connection beside the index thread's
    seen = []
    real_build = search_module._build_index

    def build(con, prefix, table):
        seen.append((con.execute("SELECT current_setting('threads')").fetchone()[0],
                     other.execute("SELECT current_setting('threads')").fetchone()[0]))
        return real_build(con, prefix, table)

    monkeypatch.setattr(search_module, "_build_index", build)
    assert refresh_index(con, settings=SearchSettings(threads=1)) == {"rebuilt": "all", "articles": 5}
    assert seen == [(1, 1)]
    monkeypatch.setattr("os.cpu_count", lambda: 6)
    assert SearchSettings().build_threads() == 3
    refresh_index(con, full=True)
    assert seen[-1] == (3, 3)
    assert con.execute("SELECT current_setting('threads')").fetchone()[0] == 2

    def broken(con, prefix, table):
        raise duckdb.IOException("disk full")

    monkeypatch.setattr(search_module, "_build_index", broken)
    with pytest.raises(duckdb.IOException, match="disk full"):
        refresh_index(con, full=True, settings=SearchSettings(threads=1))
    assert con.execute("SELECT current_setting('threads')").fetchone()[0] == 2
    other.close()
    con.close()


def test_search_scores_are_the_fts_extensions_bm25_and_filters_apply_before_the_limit(tmp_path):
    """Our postings-based scoring gives match_bm25's scores; since/axis-only filter before the top N."""
    from datetime import UTC, datetime

    from warehouse.db import open_warehouse
    from warehouse.search import refresh_index, search

    con = open_warehouse(tmp_path / "w.duckdb")
    words = ["troops", "Kursk", "shells", "sanctions", "summit", "Pyongyang", "rail", "port"]
    con.execute(
        "INSERT INTO articles (id, canonical_url, url, title, text, published_at, first_seen_at, content_hash,"
        " fetch_status, run_id)"
        " SELECT 'a' || i, 'https://x.example/' || i, 'https://x.example/' || i, 'Story ' || $w[1 + i % 8],"
        " array_to_string(list_transform(range(1 + i % 7), x -> $w[1 + (i * x + x) % 8]), ' '),"
        " TIMESTAMPTZ '2026-01-01' + to_days(CAST(i AS INTEGER)), now(), md5('a' || i), 'ok', 'r' FROM range(60) t(i)",
        {"w": words},
    )
    con.execute(
        "INSERT INTO article_tags (article_id, tagger_version, is_axis, score, countries, topics, matches, tagged_at)"
        " SELECT 'a' || i, 'v1', i % 3 = 0, 0.5, [], [], '[]', now() FROM range(60) t(i)"
    )
    refresh_index(con, full=True)
    # The reference: the extension's own index and match_bm25 over a copy of the same rows.
    con.execute("CREATE TABLE reference AS SELECT id, title, text, summary FROM articles")
    con.execute("PRAGMA create_fts_index('reference', 'id', 'title', 'text', 'summary', stemmer = 'porter',"
                " stopwords = 'english', strip_accents = 1, lower = 1, overwrite = 1)")

    def bm25(query: str) -> str:
        return ("SELECT id, score FROM (SELECT id, fts_main_reference.match_bm25(id, '%s') AS score FROM reference)"
                " WHERE score IS NOT NULL" % query.replace("'", "''"))

    for query in ["troops", "Kursk shells", "sanctions summit rail port", "Pyongyang's troops!"]:
        reference = dict(con.execute(bm25(query)).fetchall())
        ours = {r["url"].rsplit("/", 1)[1]: r["relevance"] for r in search(con, query, limit=100).to_pylist()}
        assert {f"a{k}" for k in ours} == set(reference)
        assert all(abs(score - reference[f"a{k}"]) <= 0.0005 + 1e-9 for k, score in ours.items())  # shown rounded
    since = datetime(2026, 2, 1, tzinfo=UTC)
    recent = search(con, "troops", since=since, limit=3).to_pylist()
    assert len(recent) == 3 and all(r["published_at"] >= since for r in recent)
    axis = search(con, "troops", axis_only=True, limit=100).to_pylist()
    expected_axis = con.execute(
        f"SELECT count(*) FROM ({bm25('troops')}) WHERE CAST(substr(id, 2) AS INTEGER) % 3 = 0").fetchone()[0]
    assert len(axis) == expected_axis > 0 and all(r["is_axis"] for r in axis)
    assert search(con, "nothingmatches").num_rows == 0


def test_the_search_index_holds_the_fts_extensions_own_documents_terms_and_statistics(tmp_path):
    """The index is built without the extension's token table, but its documents (with their
    lengths), terms (with their document frequencies), statistics and per-document term counts
    are the ones the extension's create_fts_index gives, on text with accents, digits,
    punctuation, stopwords, other scripts, empty and missing fields."""
    from warehouse.db import open_warehouse
    from warehouse.search import refresh_index

    con = open_warehouse(tmp_path / "w.duckdb")
    texts = [
        ("Café déjà-vu: Pyongyang's 10,000 troops", "The troops were sent; the troops returned!", None),
        ("", "", ""),
        ("Северная Корея и Россия", "Поставки снарядов, 2024 год. Северная Корея", "북한군 러시아 파병"),
        ("It is what it is", None, "and the of to"),
        ("Kursk—shells/rockets (KN-23) & \"rail\" #port", "Kursk Kursk KURSK kursk's", "résumé naïve coöperate"),
        (None, None, None),
    ]
    con.executemany(
        "INSERT INTO articles (id, canonical_url, url, title, text, summary, first_seen_at, content_hash, fetch_status, run_id)"
        " VALUES (?, ?, ?, ?, ?, ?, now(), ?, 'ok', 'r')",
        [(f"a{i}", f"https://x.example/{i}", f"https://x.example/{i}", t, x, s, f"h{i}") for i, (t, x, s) in enumerate(texts)],
    )
    refresh_index(con, full=True)
    con.execute("CREATE TABLE reference AS SELECT id, title, text, summary FROM articles")
    con.execute("PRAGMA create_fts_index('reference', 'id', 'title', 'text', 'summary', stemmer = 'porter',"
                " stopwords = 'english', strip_accents = 1, lower = 1, overwrite = 1)")
    ours, theirs = "fts_main_articles", "fts_main_reference"

    def rows(sql: str) -> list[tuple]:
        return sorted(con.execute(sql).fetchall(), key=repr)

    assert rows(f"SELECT name, len FROM {ours}.docs") == rows(f"SELECT name, len FROM {theirs}.docs")
    assert rows(f"SELECT term, df FROM {ours}.dict") == rows(f"SELECT term, df FROM {theirs}.dict")
    assert rows(f"SELECT * FROM {ours}.stats") == rows(f"SELECT * FROM {theirs}.stats")
    counts = rows(f"SELECT d.term, x.name, p.tf FROM {ours}.postings p JOIN {ours}.dict d USING (termid)"
                  f" JOIN {ours}.docs x USING (docid)")
    assert counts == rows(f"SELECT d.term, x.name, CAST(count(*) AS INTEGER) FROM {theirs}.terms t"
                          f" JOIN {theirs}.dict d USING (termid) JOIN {theirs}.docs x USING (docid) GROUP BY ALL")
    assert ("troop", "a0", 3) in counts and ("kursk", "a4", 4) in counts  # stemmed, across fields
    assert rows(f"SELECT * FROM {ours}.stopwords") == rows(f"SELECT * FROM {theirs}.stopwords")
    query = "Pyongyang's troops, déjà 23!"
    assert con.execute(f"SELECT {ours}.tokenize(?)", [query]).fetchone() == \
        con.execute(f"SELECT {theirs}.tokenize(?)", [query]).fetchone()
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name LIKE 'fts_main_fts_template%'"
                       " OR table_name = 'fts_template'").fetchone()[0] == 0  # the template is gone
