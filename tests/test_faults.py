"""Faults: a load killed mid-transaction, a warehouse held by another process, a corrupt file."""

import os
import signal
import subprocess
import sys
import textwrap

import duckdb
import fixtures as fx
import pytest
from fixture_server import Route

from axiswatch.pipeline import run_pass
from ingest.records import FeedSource
from transform.tagging import Tagger
from warehouse.db import WarehouseCorrupt, WarehouseLocked, connect

KILLED_LOAD = textwrap.dedent("""
    import ipaddress, sys, time
    sys.path.insert(0, sys.argv[3])
    from warehouse import load
    from axiswatch.pipeline import run_pass
    from ingest.http import HttpSettings
    from ingest.records import FeedSource
    from transform.tagging import Tagger

    original = load._update_feed_state
    def stall(con, feeds, now):  # inside the load transaction, after the articles went in
        original(con, feeds, now)
        print("mid-load", flush=True)
        time.sleep(60)
    load._update_feed_state = stall
    http = HttpSettings(retries=0, allowed_networks=(ipaddress.ip_network("127.0.0.1/32"),))
    run_pass([FeedSource(name="wire", url=sys.argv[1])], sys.argv[2], http, Tagger.from_file(sys.argv[3] + "/config/topics.yaml"))
""")


def test_load_killed_mid_transaction_leaves_nothing_and_the_rerun_loads_once(server, tmp_path, fast_http, repo_root):
    server.add("/rss.xml", Route(fx.RSS2, content_type="application/rss+xml", etag='"v1"'))
    server.add("/pages/troops.html", Route(fx.page("Troops", fx.TROOPS)))
    server.add("/pages/markets.html", Route(fx.page("Markets", fx.MARKETS)))
    db = tmp_path / "w.duckdb"
    proc = subprocess.Popen([sys.executable, "-c", KILLED_LOAD, server.url("/rss.xml"), str(db), str(repo_root)],
                            stdout=subprocess.PIPE, text=True, cwd=repo_root)
    try:
        assert proc.stdout.readline().strip() == "mid-load"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM articles").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM feed_fetches").fetchone() == (0,)
    assert con.execute("SELECT etag FROM feeds").fetchone() == (None,)  # validators did not advance
    con.close()

    rerun = run_pass([FeedSource(name="wire", url=server.url("/rss.xml"))], db, fast_http,
                     Tagger.from_file(repo_root / "config/topics.yaml"))
    assert rerun.articles_new == 3 and rerun.entries_seen == 3  # fetched again, not a 304
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*), count(DISTINCT canonical_url) FROM articles").fetchone() == (3, 3)


def test_locked_warehouse_waits_then_names_the_holder(tmp_path):
    db = tmp_path / "w.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", f"import duckdb, time; c = duckdb.connect({str(db)!r}); print('ok', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "ok"
        with pytest.raises(WarehouseLocked) as info:
            connect(db, wait=1)
        assert f"PID {holder.pid}" in str(info.value) and "snapshot" in str(info.value)
    finally:
        holder.kill()
        holder.wait()
    connect(db, wait=1).close()  # free again


def test_corrupt_file_is_reported_and_left_alone(tmp_path):
    db = tmp_path / "w.duckdb"
    db.write_bytes(b"not a database" * 1000)
    with pytest.raises(WarehouseCorrupt, match="is corrupt: its header is not a DuckDB header"):
        connect(db)
    assert db.read_bytes() == b"not a database" * 1000
