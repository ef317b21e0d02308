"""Read-only snapshots: what analysts open, so reading never blocks the night and the night never
breaks a reader.

After each successful load the writer's file is checkpointed and copied next to it, then renamed
over the previous snapshot in one atomic step. A reader that has the old snapshot open keeps
reading it (the old file lives on until closed); the next reader gets the new one.

A new *process* that opens ``axiswatch.snapshot.duckdb`` gets the newest snapshot, but a
long-lived one (a notebook) does not: DuckDB keeps one database instance per path in a process,
so connecting again to the same path while an earlier connection is open returns the old
snapshot. So each publish also gives the snapshot a versioned name of its own
(``axiswatch.snapshot.<microseconds>.duckdb``, the same file as the stable name through a hard link, so no
extra space), and ``connect_newest`` opens the newest version: a new path, hence the new data.
The newest ``KEEP_VERSIONS`` versions are kept; older ones are removed (a reader that still has
one open keeps reading it until it closes).

A DuckLake needs none of this: every reader attaches the lake itself and reads a consistent
snapshot of it while the night writes, so its "snapshot" is the lake's own location.
"""

from __future__ import annotations

import os
import re
import shutil
import time
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


KEEP_VERSIONS = 3


def _version_pattern(db: str | Path) -> re.Pattern:
    stable = snapshot_path(db)
    return re.compile(re.escape(stable.stem) + r"\.(\d{6,})" + re.escape(stable.suffix) + "$")


def snapshot_versions(db: str | Path) -> list[Path]:
    """The versioned snapshot files of a DuckDB warehouse, oldest first."""
    folder = snapshot_path(db).parent
    pattern = _version_pattern(db)
    try:
        found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := pattern.match(p.name))]
    except OSError:
        return []
    return [p for _, p in sorted(found)]


def _version_path(db: str | Path, number: int) -> Path:
    stable = snapshot_path(db)
    return stable.with_name(f"{stable.stem}.{number:06d}{stable.suffix}")


def newest_snapshot(db: str | Path) -> Path:
    """The file holding the newest published snapshot: its newest version, or the stable name
    when there are no versions (a snapshot published before versions existed)."""
    versions = snapshot_versions(db)
    return versions[-1] if versions else snapshot_path(db)


def connect_newest(db: str | Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the newest published snapshot, safe to call again in a long-lived
    process (a notebook): each publish has a path of its own, so DuckDB cannot hand back the
    instance of an older one. ``db`` is the warehouse (or its stable snapshot path, or a lake)."""
    db = _warehouse_of(db)
    if Location.parse(db).is_lake:
        return connect(db, read_only=True)
    return _read_only(newest_snapshot(db), snapshot_path(db))


def _warehouse_of(path: str | Path) -> str | Path:
    """``data/axiswatch.snapshot.duckdb`` (or a version of it) -> ``data/axiswatch.duckdb``; anything else unchanged."""
    if Location.parse(path).is_lake:
        return path
    p = Path(path)
    match = re.match(r"^(.*)\.snapshot(?:\.\d{6,})?$", p.stem)
    return p.with_name(match.group(1) + p.suffix) if match else path


def _publish_version(db: Path, tmp: Path) -> None:
    """Give the new snapshot (still at ``tmp``) its versioned name, then drop the oldest versions."""
    versions = snapshot_versions(db)
    # Microseconds since the epoch, and always past the newest: a number is never used twice, so a
    # long-lived reader can never be handed the cached instance of an older file of the same name.
    number = time.time_ns() // 1000
    if versions:
        number = max(number, int(_version_pattern(db).match(versions[-1].name).group(1)) + 1)
    target = _version_path(db, number)
    try:
        os.link(tmp, target)
    except OSError:  # no hard links here: a second copy
        shutil.copyfile(tmp, target)
    for old in [*versions, target][:-KEEP_VERSIONS]:
        try:
            old.unlink()
        except OSError:
            pass  # open elsewhere (Windows) or gone: the next publish tries again


def publish_snapshot(db: str | Path, con: duckdb.DuckDBPyConnection | None = None) -> str | Path:
    """Checkpoint the warehouse and atomically replace its snapshot with a copy of it (also named
    as the newest numbered version, see ``_publish_version``).

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
        _publish_version(db, tmp)
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
    return _read_only(snapshot_path(db), snapshot_path(db))


def _read_only(path: Path, named: Path) -> duckdb.DuckDBPyConnection:
    """``path`` opened read-only, with one clear error naming the snapshot (``named``) when
    there is none or it cannot be opened."""
    if not path.exists():
        raise WarehouseError(
            f"no snapshot at {named}: run `axiswatch run` (or `axiswatch snapshot`) to publish one"
        )
    try:
        return duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        raise WarehouseError(f"cannot open snapshot {path}: {exc}") from None
