"""Daily upkeep of the warehouse: search index, checkpoint, backups, retention, and Parquet for analysts."""

from __future__ import annotations

import shutil
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from warehouse.db import connect, open_warehouse


def rebuild_search_index(db: str | Path) -> dict:
    """Fold the nightly recent search index into one full BM25 index (see warehouse.search)."""
    from warehouse.search import refresh_index

    con = open_warehouse(db)
    try:
        return refresh_index(con, full=True)
    finally:
        con.close()


def checkpoint_and_backup(db: str | Path, backups_dir: str | Path, keep: int = 7) -> Path:
    """Checkpoint the file, copy it while no one can write, and keep the newest ``keep`` copies.

    Holding the only write connection during the copy means no transaction can be half in the file.
    """
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
    for old in sorted(backups.glob(f"{db.stem}-*.duckdb"))[:-keep]:
        old.unlink()
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
                    f" TO '{str(tmp).replace(chr(39), chr(39) * 2)}'"
                    " (FORMAT parquet, PARTITION_BY (day))"
                )
            else:
                tmp.mkdir(parents=True)
            shutil.rmtree(target, ignore_errors=True)
            tmp.rename(target)
    finally:
        con.close()
    return counts
