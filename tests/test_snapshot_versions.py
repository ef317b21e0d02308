"""A long-lived reader (a notebook) sees the newest snapshot when it reconnects, in one process."""

import subprocess
import sys

import duckdb
import pytest

import axiswatch
from warehouse.db import WarehouseError
from warehouse.snapshot import (KEEP_VERSIONS, connect_newest, newest_snapshot, publish_snapshot, snapshot_path,
                                snapshot_versions)


def _write(db, rows: int) -> None:
    con = duckdb.connect(str(db))
    con.execute("CREATE TABLE IF NOT EXISTS t (v INTEGER)")
    con.execute("INSERT INTO t SELECT * FROM range(?)", [rows])
    con.close()


def test_reconnecting_in_one_process_sees_the_newest_snapshot(tmp_path):
    db = tmp_path / "w.duckdb"
    _write(db, 3)
    publish_snapshot(db)
    first = axiswatch.connect(db)
    assert first.execute("SELECT count(*) FROM t").fetchone() == (3,)

    _write(db, 4)  # the next night: more rows, published again while the notebook keeps `first` open
    publish_snapshot(db)
    second = axiswatch.connect(db)
    assert second.execute("SELECT count(*) FROM t").fetchone() == (7,)
    assert first.execute("SELECT count(*) FROM t").fetchone() == (3,)  # the open one stays consistent
    # Given the snapshot's own path (what the README tells analysts to open), the same.
    assert connect_newest(snapshot_path(db)).execute("SELECT count(*) FROM t").fetchone() == (7,)

    # The stable path stays the contract for other readers: a new process opening it sees the newest.
    fresh = subprocess.run([sys.executable, "-c", "import duckdb, sys; print(duckdb.connect(sys.argv[1], read_only=True)"
                            ".execute('SELECT count(*) FROM t').fetchone()[0])", str(snapshot_path(db))],
                           capture_output=True, text=True, timeout=60)
    assert fresh.stdout.strip() == "7"
    assert snapshot_path(db).read_bytes() == newest_snapshot(db).read_bytes()
    first.close()
    second.close()


def test_only_the_newest_versions_are_kept(tmp_path):
    db = tmp_path / "w.duckdb"
    _write(db, 1)
    publish_snapshot(db)
    oldest = axiswatch.connect(db)  # a reader of a version that will be removed
    for n in range(KEEP_VERSIONS + 2):
        _write(db, 1)
        publish_snapshot(db)
    versions = snapshot_versions(db)
    assert len(versions) == KEEP_VERSIONS
    assert sorted(p.name for p in tmp_path.glob("w.snapshot.*.duckdb")) == [p.name for p in versions]
    assert not list(tmp_path.glob(".*tmp"))
    assert oldest.execute("SELECT count(*) FROM t").fetchone() == (1,)  # still reads its removed file
    assert axiswatch.connect(db).execute("SELECT count(*) FROM t").fetchone() == (KEEP_VERSIONS + 3,)


def test_a_snapshot_from_before_versions_still_opens_and_none_is_one_line(tmp_path):
    db = tmp_path / "w.duckdb"
    _write(db, 2)
    publish_snapshot(db)
    for version in snapshot_versions(db):  # as left by a release that published only the stable name
        version.unlink()
    assert newest_snapshot(db) == snapshot_path(db)
    assert axiswatch.connect(db).execute("SELECT count(*) FROM t").fetchone() == (2,)
    with pytest.raises(WarehouseError, match="no snapshot"):
        axiswatch.connect(tmp_path / "none.duckdb")


def test_connect_without_a_path_reads_the_settings_database(tmp_path, monkeypatch):
    db = tmp_path / "data" / "w.duckdb"
    db.parent.mkdir()
    _write(db, 5)
    publish_snapshot(db)
    settings = tmp_path / "settings.yaml"
    settings.write_text(f"database: {db}\n", encoding="utf-8")
    assert axiswatch.connect(config=settings).execute("SELECT count(*) FROM t").fetchone() == (5,)
