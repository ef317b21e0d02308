"""Daily upkeep of the warehouse: search index, checkpoint, backups, retention, and Parquet for analysts."""

from __future__ import annotations

import shutil
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from warehouse.db import connect, open_warehouse, sql_string
from warehouse.location import Location


def rebuild_search_index(db: str | Path) -> dict:
    """Fold the nightly recent search index into one full BM25 index (see warehouse.search)."""
    from warehouse.search import refresh_index

    con = open_warehouse(db)
    try:
        return refresh_index(con, full=True)
    finally:
        con.close()


def checkpoint_and_backup(db: str | Path, backups_dir: str | Path, keep: int = 7) -> Path | None:
    """Checkpoint the file, copy it while no one can write, and keep the newest ``keep`` copies.

    Holding the only write connection during the copy means no transaction can be half in the file.
    A DuckLake is checkpointed and its catalog backed up instead (see ``_backup_lake``).
    """
    location = Location.parse(db)
    if location.is_lake:
        return _backup_lake(location, Path(backups_dir), keep)
    db, backups = Path(db), Path(backups_dir)
    backups.mkdir(parents=True, exist_ok=True)
    target = backups / f"{db.stem}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.duckdb"
    con = open_warehouse(db)
    try:
        con.execute("CHECKPOINT")
        shutil.copy2(db, target.with_suffix(".tmp"))
        target.with_suffix(".tmp").replace(target)
    finally:
        con.close()
    _rotate(backups, f"{db.stem}-*.duckdb", keep)
    return target


def _rotate(folder: Path, pattern: str, keep: int) -> None:
    for old in sorted(folder.glob(pattern))[:-keep]:
        old.unlink()


def _backup_lake(location: Location, backups: Path, keep: int) -> Path | None:
    """A lake's data files are immutable Parquet, so a copy of its catalog is a point-in-time
    backup (as long as the files it names are kept). SQLite catalogs are copied with SQLite's
    online backup (other processes may be writing); a DuckDB catalog is copied while we hold it;
    a PostgreSQL catalog is the database's own business (pg_dump), so nothing is copied."""
    con = open_warehouse(location)
    try:
        con.execute("CHECKPOINT")
        if location.catalog_file is None:
            return None
        backups.mkdir(parents=True, exist_ok=True)
        stem = location.catalog_file.stem
        target = backups / f"{stem}-{datetime.now(UTC):%Y%m%dT%H%M%SZ}{location.catalog_file.suffix}"
        if location.catalog_kind == "sqlite":
            with sqlite3.connect(location.catalog_file) as src, sqlite3.connect(target) as dst:
                src.backup(dst)
        else:
            shutil.copy2(location.catalog_file, target)
    finally:
        con.close()
    _rotate(backups, f"{stem}-*{location.catalog_file.suffix}", keep)
    return target


def apply_retention(db: str | Path, staging_dir: str | Path, days: int) -> dict:
    """Drop fetch logs and staging folders older than ``days`` (articles are never dropped)."""
    cutoff = datetime.now(UTC) - timedelta(days=days)
    con = open_warehouse(db)
    try:
        before = con.execute("SELECT count(*) FROM feed_fetches").fetchone()[0]
        con.execute("DELETE FROM feed_fetches WHERE fetched_at < ?", [cutoff])
        fetches = before - con.execute("SELECT count(*) FROM feed_fetches").fetchone()[0]
    finally:
        con.close()
    folders = 0
    staging = Path(staging_dir)
    if staging.is_dir():
        for folder in staging.iterdir():
            if folder.is_dir() and folder.stat().st_mtime < time.time() - days * 86400:
                shutil.rmtree(folder, ignore_errors=True)
                folders += 1
    return {"fetch_rows_deleted": fetches, "staging_folders_deleted": folders}


EXPORTS = {
    # name: (query, day column)
    "articles": ("SELECT a.* EXCLUDE (raw_entry), t.is_axis, t.score, t.countries, t.topics, t.tagger_version,"
                 " c.cluster_id FROM articles a LEFT JOIN v_article_tags_latest t ON t.article_id = a.id"
                 " LEFT JOIN article_clusters c ON c.article_id = a.id", "first_seen_at"),
    "stories": ("SELECT * FROM story_clusters", "first_seen_at"),
    "axis_stories": ("SELECT * FROM v_axis_stories", "first_seen_at"),
}


def export_parquet(db: str | Path, export_dir: str | Path) -> dict:
    """Write Parquet partitioned by day (``<name>/day=YYYY-MM-DD/*.parquet``), replacing the last export."""
    out = Path(export_dir)
    out.mkdir(parents=True, exist_ok=True)
    con = connect(db, read_only=True)
    counts = {}
    try:
        for name, (query, day_column) in EXPORTS.items():
            target = out / name
            tmp = out / f".{name}.tmp"
            shutil.rmtree(tmp, ignore_errors=True)
            counts[name] = con.execute(f"SELECT count(*) FROM ({query})").fetchone()[0]
            if counts[name]:
                con.execute(
                    f"COPY (SELECT *, CAST({day_column} AS DATE) AS day FROM ({query}))"
                    f" TO {sql_string(str(tmp))}"
                    " (FORMAT parquet, PARTITION_BY (day))"
                )
            else:
                tmp.mkdir(parents=True)
            shutil.rmtree(target, ignore_errors=True)
            tmp.rename(target)
    finally:
        con.close()
    return counts
