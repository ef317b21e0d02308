"""The benchmarks' yardsticks measure what they say they measure."""

from datetime import UTC, datetime

import duckdb
import pytest

from benchmarks.night import (
    BULK_BATCH_ROWS,
    LOADED_TABLES,
    _batched,
    bulk_insert_seconds,
    loaded_rows,
    recorded_loads,
    replay_load_once,
)
from ingest.records import FeedSource
from transform.articles import Article, Duplicate
from warehouse import load
from warehouse.db import open_warehouse


def _article(i: int) -> Article:
    return Article(
        id=f"a{i}", canonical_url=f"https://news.example/{i}", url=f"https://news.example/{i}?utm_source=x",
        feed="f", outlet="o", title=f"Title {i}", summary="s", text=f"text {i}", language="en", author="",
        published_at=datetime.now(UTC), content_hash=f"h{i}", fetch_status="ok", fetch_error="",
        http_status=200, guid=f"g{i}", raw_entry="{}",
    )


def _load(con, run_id: str, first: int, count: int) -> None:
    run = load.RunRecord(run_id=run_id, started_at=datetime.now(UTC), finished_at=datetime.now(UTC))
    articles = [_article(i) for i in range(first, first + count)]
    copy = Duplicate(f"https://mirror.example/{first}", articles[0].id, "https://mirror.example/x", "f", "o", "t")
    load.load_pass(con, run, [], articles, [copy], run.finished_at)


def test_bulk_baseline_inserts_the_rows_of_one_run_into_true_copies_of_the_tables(tmp_path):
    db = tmp_path / "w.duckdb"
    con = open_warehouse(db)
    con.execute("CREATE INDEX articles_feed ON articles (feed)")  # an index the copy must carry
    _load(con, "earlier", 0, 5)
    _load(con, "night", 5, 3)
    source_indexes = {r[0] for r in con.execute(
        "SELECT index_name FROM duckdb_indexes() WHERE table_name IN ?", [list(LOADED_TABLES)]).fetchall()}
    con.close()

    loaded = loaded_rows(db, "night")
    seconds, rows, batch_rows = bulk_insert_seconds(loaded, tmp_path)

    assert seconds > 0 and batch_rows in BULK_BATCH_ROWS
    articles = loaded["articles"][0]
    rebatched = _batched(articles, 2)  # every shape the baseline tries holds the same rows
    assert [b.num_rows for b in rebatched.to_batches()] == [2, 1] and rebatched.equals(articles)
    assert rows == 3 + 1  # the night's three articles and one duplicate (no feeds were fetched)
    bulk = duckdb.connect(str(tmp_path / "bulk.duckdb"), read_only=True)
    assert bulk.execute("SELECT count(*) FROM articles").fetchone()[0] == 3
    assert bulk.execute("SELECT count(*) FROM article_duplicates").fetchone()[0] == 1
    copied = {r[0] for r in bulk.execute("SELECT index_name FROM duckdb_indexes()").fetchall()}
    assert "articles_feed" in source_indexes
    assert copied == source_indexes  # the index maintenance our load pays, the baseline pays too
    constraints = bulk.execute(
        "SELECT count(*) FROM duckdb_constraints() WHERE table_name = 'articles' AND constraint_type = 'PRIMARY KEY'"
    ).fetchone()[0]
    assert constraints == 1


def test_history_words_in_sql_and_python_are_spelled_alike():
    """backends.py picks query words by rank with ``word``; the history is written by ``word_sql``."""
    from benchmarks.history import VOCABULARY, word, word_sql

    con = duckdb.connect()
    rows = con.execute(
        f"SELECT CAST(floor(pow({VOCABULARY}, (hash(i, x, 0) % 1000003) / 1000003.0)) AS BIGINT), {word_sql(0)}"
        " FROM range(200) a(i), range(50) b(x)"
    ).fetchall()
    assert len({rank for rank, _ in rows}) > 500  # common and rare ranks alike
    assert all(spelled == word(rank) for rank, spelled in rows)


def test_the_load_replay_writes_exactly_what_the_nights_load_wrote(tmp_path):
    """The replay is timed against the bulk baseline: it must be the night's own load, on the
    night's own inputs, into a warehouse prepared as the night's was."""
    from axiswatch.pipeline import prepare_warehouse

    sources = [FeedSource(name="f", url="https://news.example/feed")]
    db = tmp_path / "night.duckdb"
    prepare_warehouse(db, sources)
    con = open_warehouse(db)
    with recorded_loads() as calls:
        _load(con, "night", 0, 3)
    con.close()
    assert len(calls) == 1

    folder = tmp_path / "replay"
    folder.mkdir()
    assert replay_load_once(calls[0], sources, folder) > 0
    night, replayed = loaded_rows(db, "night"), loaded_rows(folder / "replay.duckdb", "night")
    for table in LOADED_TABLES:
        assert replayed[table][0].equals(night[table][0]), table
    assert night["articles"][0].num_rows == 3 and night["article_duplicates"][0].num_rows == 1


def test_the_verify_benchmark_reads_every_block_of_a_generated_history(tmp_path, capsys):
    import json

    from benchmarks.verify import main

    db = tmp_path / "w.duckdb"
    main(["--articles", "300", "--db", str(db)])
    result = json.loads(capsys.readouterr().out)
    assert result["articles"] == 300 and result["blocks"] > 0
    assert result["file_mb"] >= result["blocks"] * 262144 / 1e6 - 0.1  # every block the header counts was read


@pytest.mark.parametrize("apart", [True, False], ids=["event-loop-child", "threads-inline"])
def test_the_benchmark_hosts_serve_pages_feeds_validators_and_misses_on_kept_alive_connections(apart):
    """Both ways of serving the night's hosts answer alike: the page, the feed with its links on
    the served port, 304 for a held ETag, 404 for a path or host that has no such page; several
    requests on one connection, and the connection closed when the client asks."""
    import socket

    import httpx

    from benchmarks.corpus import build, serve, serve_apart

    corpus = build(n_feeds=2, entries_per_feed=3, pages=4, hosts=2, seed=1)
    servers, port = (serve_apart if apart else serve)(corpus, latency=0.01)
    try:
        (page_host, page_path), page = next(iter(corpus.pages.items()))
        other_host = next(h for h in corpus.hosts if h != page_host)
        feed_url = corpus.feed_urls[0].replace("{PORT}", str(port))
        with httpx.Client(timeout=5) as client:
            got = client.get(f"http://{page_host}:{port}{page_path}?utm_source=rss")
            assert (got.status_code, got.content) == (200, page)
            assert got.headers["content-type"].startswith("text/html")
            again = client.get(f"http://{page_host}:{port}{page_path}", headers={"If-None-Match": got.headers["etag"]})
            assert (again.status_code, again.content) == (304, b"")
            feed = client.get(feed_url)
            assert feed.status_code == 200 and feed.headers["content-type"] == "application/rss+xml"
            assert f":{port}/a/".encode() in feed.content and b"{PORT}" not in feed.content
            assert client.get(f"http://{page_host}:{port}/missing").status_code == 404
            assert (other_host, page_path) not in corpus.pages
            assert client.get(f"http://{other_host}:{port}{page_path}").status_code == 404
        request = f"GET {page_path} HTTP/1.1\r\nHost: {page_host}\r\n".encode()
        with socket.create_connection((page_host, port), timeout=5) as sock:
            sock.sendall(request + b"\r\n" + request + b"Connection: close\r\n\r\n")
            received = b""
            while chunk := sock.recv(65536):  # ends only when the server closes the connection
                received += chunk
        assert received.count(b"HTTP/1.1 200 OK") == 2 and received.endswith(page)
    finally:
        for server in servers:
            server.shutdown()
