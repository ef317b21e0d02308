import os
import time

import duckdb
import pyarrow.parquet as pq

from warehouse.db import open_warehouse
from warehouse.maintenance import apply_retention, checkpoint_and_backup, export_parquet


def seeded(tmp_path):
    db = tmp_path / "w.duckdb"
    con = open_warehouse(db)
    con.execute("""INSERT INTO articles (id, canonical_url, url, outlet, title, first_seen_at, content_hash, fetch_status, run_id)
                   VALUES ('a1', 'https://e/1', 'https://e/1', 'O', 'T1', TIMESTAMPTZ '2026-11-20 10:00:00+00', 'h1', 'ok', 'r'),
                          ('a2', 'https://e/2', 'https://e/2', 'O', 'T2', TIMESTAMPTZ '2026-11-21 10:00:00+00', 'h2', 'ok', 'r')""")
    con.execute("""INSERT INTO feed_fetches (run_id, feed, url, fetched_at, status)
                   VALUES ('old', 'f', 'u', now() - INTERVAL 90 DAY, 'ok'), ('new', 'f', 'u', now(), 'ok')""")
    con.close()
    return db


def test_backup_is_a_readable_copy_and_old_ones_rotate(tmp_path):
    db = seeded(tmp_path)
    for _ in range(3):
        backup = checkpoint_and_backup(db, tmp_path / "backups", keep=2)
        time.sleep(1.1)  # backup names carry the second
    assert len(list((tmp_path / "backups").glob("*.duckdb"))) == 2
    assert duckdb.connect(str(backup), read_only=True).execute("SELECT count(*) FROM articles").fetchone() == (2,)


def test_retention_drops_old_fetch_logs_and_staging_but_never_articles(tmp_path):
    db = seeded(tmp_path)
    old = tmp_path / "staging" / "old-run"
    old.mkdir(parents=True)
    os.utime(old, (time.time() - 40 * 86400,) * 2)
    (tmp_path / "staging" / "new-run").mkdir()
    assert apply_retention(db, tmp_path / "staging", 30) == {"fetch_rows_deleted": 1, "staging_folders_deleted": 1}
    con = duckdb.connect(str(db), read_only=True)
    assert con.execute("SELECT count(*) FROM articles").fetchone() == (2,)
    assert [p.name for p in (tmp_path / "staging").iterdir()] == ["new-run"]


def test_parquet_export_is_partitioned_by_day(tmp_path):
    db = seeded(tmp_path)
    counts = export_parquet(db, tmp_path / "export")
    assert counts["articles"] == 2
    days = sorted(p.name for p in (tmp_path / "export/articles").iterdir())
    assert days == ["day=2026-11-20", "day=2026-11-21"]
    table = pq.read_table(tmp_path / "export/articles")
    assert table.num_rows == 2 and "title" in table.column_names
    export_parquet(db, tmp_path / "export")  # a second export replaces the first
    assert pq.read_table(tmp_path / "export/articles").num_rows == 2
