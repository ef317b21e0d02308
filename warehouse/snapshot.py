"""Read-only snapshots: what analysts open, so reading never blocks the night and the night never
breaks a reader.

After each successful load the writer's file is checkpointed and copied next to it, then renamed
over the previous snapshot in one atomic step. A reader that has the old snapshot open keeps
reading it (the old file lives on until closed); the next reader gets the new one.

A DuckLake needs none of this: every reader attaches the lake itself and reads a consistent
snapshot of it while the night writes, so its "snapshot" is the lake's own location.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import duckdb

from warehouse.db import WarehouseError, classify, connect, no_space, open_warehouse
from warehouse.location import Location


def reader_location(db: str | Path) -> str | Path:
    """What analysts open: the snapshot file of a DuckDB warehouse, or the lake itself."""
    location = Location.parse(db)
    return str(location) if location.is_lake else snapshot_path(db)


def snapshot_exists(db: str | Path) -> bool:
    """Whether analysts have something to open (a lake always does)."""
    return Location.parse(db).is_lake or snapshot_path(db).exists()


def snapshot_path(db: str | Path) -> Path:
    """``data/axiswatch.duckdb`` -> ``data/axiswatch.snapshot.duckdb``."""
    db = Path(db)
    return db.with_name(f"{db.stem}.snapshot{db.suffix or '.duckdb'}")


def publish_snapshot(db: str | Path, con: duckdb.DuckDBPyConnection | None = None) -> str | Path:
    """Checkpoint the warehouse and atomically replace its snapshot with a copy of it.

    ``con`` is the caller's open connection to ``db`` (kept open); without it one is opened."""
    if Location.parse(db).is_lake:
        return reader_location(db)
    db, target = Path(db), snapshot_path(db)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    own = con is None
    con = open_warehouse(db) if own else con  # holding the write lock: nobody changes the file while we copy it
    try:
        con.execute("CHECKPOINT")
        shutil.copyfile(db, tmp)
        os.replace(tmp, target)
    except (OSError, duckdb.Error) as exc:
        tmp.unlink(missing_ok=True)  # never a half-written snapshot: the previous one stays
        if no_space(exc):
            raise classify(target, exc) from None
        raise WarehouseError(f"cannot write snapshot {target}: {getattr(exc, 'strerror', None) or exc}") from None
    finally:
        if own:
            con.close()
    return target


def open_snapshot(db: str | Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the warehouse's snapshot, with a clear error when there is none."""
    if Location.parse(db).is_lake:
        return connect(db, read_only=True)
    path = snapshot_path(db)
    if not path.exists():
        raise WarehouseError(
            f"no snapshot at {path}: run `axiswatch run` (or `axiswatch snapshot`) to publish one"
        )
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise WarehouseError(f"cannot open snapshot {path}: {exc}") from None
