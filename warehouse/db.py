"""Opening the warehouse (a DuckDB file or a DuckLake, see ``warehouse.location``) and applying
its versioned migrations.

Migrations are the numbered ``*.sql`` files beside this module, applied in order, each in its own
transaction and recorded in ``schema_migrations``; the schema is declared here, never reflected.
DuckLake has no keys or indexes, so on a lake the same files are applied without them (every
write in this package is an anti-join append or a MERGE, correct with or without keys).
"""

from __future__ import annotations

import errno
import importlib.util
import os
import random
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import TypeVar

import duckdb

from warehouse.location import Location

_MIGRATION_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")


class WarehouseError(RuntimeError):
    """The warehouse cannot be opened or migrated; the run cannot proceed."""


def fetch_dicts(cur: duckdb.DuckDBPyConnection) -> list[dict]:
    """The rows of an executed query as dicts keyed by column name."""
    columns = [d[0] for d in cur.description]
    return [dict(zip(columns, row)) for row in cur.fetchall()]


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every migration shipped with the package, in order."""
    found = []
    for item in resources.files("warehouse.migrations").iterdir():
        match = _MIGRATION_NAME.match(item.name)
        if match:
            found.append((int(match.group(1)), match.group(2), item.read_text(encoding="utf-8")))
    return sorted(found)


LOCK_WAIT_SECONDS = float(os.environ.get("AXISWATCH_LOCK_WAIT", "30"))
_HOLDER = re.compile(r"Conflicting lock is held in (.*?) \(PID (\d+)\)")


class WarehouseLocked(WarehouseError):
    """Another process holds the warehouse file."""


class WarehouseCorrupt(WarehouseError):
    """The file is not a usable DuckDB database; nothing was changed or deleted."""


def load_extension(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Load a DuckDB extension from its PyPI package, never from the internet."""
    package = f"duckdb_extension_{name}"
    spec = importlib.util.find_spec(package)
    version = duckdb.__version__
    path = None
    if spec and spec.submodule_search_locations:
        path = Path(list(spec.submodule_search_locations)[0]) / "extensions" / f"v{version}" / f"{name}.duckdb_extension"
    if path is None or not path.exists():
        raise WarehouseError(
            f"DuckDB extension {name!r} for DuckDB {version} is not installed: "
            f"pip install duckdb-extension-{name.replace('_', '-')}=={version}"
        )
    # LOAD by path: no INSTALL, so no extension directory (or home directory) is needed.
    con.execute(f"LOAD {sql_string(str(path))}")


def sql_string(value: str) -> str:
    """``value`` as a SQL string literal (for statements that take no parameters: ATTACH, LOAD, COPY)."""
    return "'" + value.replace("'", "''") + "'"


def connect_lake(location: Location, read_only: bool = False) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB with the lake attached as ``lake`` and made the default catalog."""
    con = duckdb.connect()
    try:
        load_extension(con, "ducklake")
        if location.catalog_kind != "duckdb":
            load_extension(con, f"{location.catalog_kind}_scanner")
        if read_only:
            option = "READ_ONLY"
        else:
            option = f"DATA_PATH {sql_string(location.files_dir)}"
            if location.catalog_file is not None:  # a file catalog: its folder (and default data folder) may be new
                location.catalog_file.parent.mkdir(parents=True, exist_ok=True)
                if location.data_path is None:
                    Path(location.files_dir).mkdir(parents=True, exist_ok=True)
        con.execute(f"ATTACH {sql_string('ducklake:' + location.target)} AS lake ({option})")
        con.execute("USE lake")
    except WarehouseError:
        con.close()
        raise
    except (duckdb.Error, OSError) as exc:
        con.close()
        raise WarehouseError(f"cannot open DuckLake {location}: {str(exc).splitlines()[0]}") from None
    return con


def connect(path: str | Path | Location, read_only: bool = False, wait: float | None = None) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file (creating its folder), waiting a bounded time if another process
    holds it, with a distinct error for a locked, corrupt or unwritable file. A DuckLake location
    is attached instead (no file lock: the catalog arbitrates between processes)."""
    location = Location.parse(path)
    if location.is_lake:
        return connect_lake(location, read_only)
    path = Path(location.target)
    deadline = time.monotonic() + (LOCK_WAIT_SECONDS if wait is None else wait)
    delay = 0.2
    while True:
        try:
            if not read_only:
                path.parent.mkdir(parents=True, exist_ok=True)
            return duckdb.connect(str(path), read_only=read_only)
        except duckdb.IOException as exc:
            message = str(exc)
            if "lock" not in message.lower():
                raise _classify(path, exc) from None
            if time.monotonic() >= deadline:
                holder = _HOLDER.search(message)
                who = f"{holder.group(1)} (PID {holder.group(2)})" if holder else "another process"
                raise WarehouseLocked(
                    f"warehouse {path} is locked by {who}; waited {LOCK_WAIT_SECONDS if wait is None else wait:g}s. "
                    f"Readers should open {path.with_name(path.stem + '.snapshot' + path.suffix)} instead"
                ) from None
            time.sleep(delay)
            delay = min(2.0, delay * 2)
        except (duckdb.Error, OSError) as exc:
            raise _classify(path, exc) from None


def _classify(path: Path, exc: Exception) -> WarehouseError:
    message = str(exc)
    lowered = message.lower()
    if "not a valid duckdb database" in lowered or "corrupt" in lowered or "checksum" in lowered:
        return WarehouseCorrupt(f"warehouse {path} is not a usable DuckDB file ({message.splitlines()[0]}); "
                                "nothing was changed: restore it from data/backups or move it aside")
    if "no space left" in lowered or getattr(exc, "errno", None) == errno.ENOSPC:
        return WarehouseError(f"disk full writing warehouse {path}; nothing was deleted")
    return WarehouseError(f"cannot open warehouse {path}: {message}")


_KEY_CLAUSE = re.compile(r",\s*PRIMARY KEY\s*\([^)]*\)|\s+(PRIMARY KEY|UNIQUE)\b")
_INDEX_STATEMENT = re.compile(r"^(?:CREATE|DROP) INDEX [^;]*;", re.MULTILINE)
_VIEW_COLUMN_COMMENT = re.compile(r"^COMMENT ON COLUMN v_\w+\.\w+ IS '(?:[^']|'')*';", re.MULTILINE)


def for_lake(sql: str) -> str:
    """A migration as DuckLake accepts it: no PRIMARY KEY/UNIQUE constraints, no indexes, and no
    comments on view columns (views and tables keep theirs)."""
    return _VIEW_COLUMN_COMMENT.sub("", _INDEX_STATEMENT.sub("", _KEY_CLAUSE.sub("", sql)))


@contextmanager
def registered(con: duckdb.DuckDBPyConnection, name: str, table: object) -> Iterator[None]:
    """``table`` (Arrow) visible to SQL as ``name`` for the duration of the block."""
    con.register(name, table)
    try:
        yield
    finally:
        con.unregister(name)


T = TypeVar("T")
COMMIT_ATTEMPTS = 6


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.execute("ROLLBACK")
    except duckdb.Error:
        pass  # a failed COMMIT has already ended the transaction


def in_transaction(con: duckdb.DuckDBPyConnection, work: Callable[[], T], attempts: int = COMMIT_ATTEMPTS) -> T:
    """Run ``work`` in one transaction and commit it.

    On a DuckLake several processes write at once, and two commits can collide ("Failed to
    commit DuckLake transaction", or a busy SQLite catalog). Every write in this package is an
    anti-join append or a MERGE, so the whole transaction is simply run again on the new state,
    after a short randomized wait; a DuckDB file has one writer and never collides."""
    for attempt in range(1, attempts + 1):
        con.execute("BEGIN")
        try:
            result = work()
            con.execute("COMMIT")
            return result
        except duckdb.TransactionException as exc:
            _rollback(con)
            if "DuckLake" not in str(exc) or attempt == attempts:
                raise
            time.sleep(random.uniform(0.05, 0.2) * 2**attempt)
        except BaseException:
            _rollback(con)
            raise
    raise AssertionError("unreachable")


def is_lake(con: duckdb.DuckDBPyConnection) -> bool:
    return con.execute("SELECT current_database()").fetchone()[0] == "lake"


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply pending migrations; return the names applied. A schema already up to date costs one
    read (no DDL, so nothing is written: on a lake every DDL statement is a catalog commit)."""
    latest = migrations()[-1][0]
    try:
        if con.execute("SELECT max(version) FROM schema_migrations").fetchone()[0] == latest:
            return []
    except duckdb.CatalogException:
        pass  # a new warehouse
    lake = is_lake(con)
    adapt = for_lake if lake else (lambda sql: sql)
    con.execute(adapt(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    ))
    done = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
    applied = []
    for version, name, sql in migrations():
        if version in done:
            continue
        con.execute("BEGIN")
        try:
            con.execute(adapt(sql))
            con.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [version, name])
            con.execute("COMMIT")
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            raise WarehouseError(f"migration {version:03d}_{name} failed: {exc}") from None
        applied.append(f"{version:03d}_{name}")
    return applied


def open_warehouse(path: str | Path | Location) -> duckdb.DuckDBPyConnection:
    """Open for writing and bring the schema up to date."""
    con = connect(path)
    try:
        migrate(con)
    except Exception:
        con.close()
        raise
    return con
