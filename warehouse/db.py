"""Opening the DuckDB warehouse and applying its versioned migrations.

Migrations are the numbered ``*.sql`` files beside this module, applied in order, each in its own
transaction and recorded in ``schema_migrations``; the schema is declared here, never reflected.
"""

from __future__ import annotations

import errno
import os
import re
import time
from importlib import resources
from pathlib import Path

import duckdb

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


def connect(path: str | Path, read_only: bool = False, wait: float | None = None) -> duckdb.DuckDBPyConnection:
    """Open the warehouse file (creating its folder), waiting a bounded time if another process
    holds it, with a distinct error for a locked, corrupt or unwritable file."""
    path = Path(path)
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


def migrate(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Apply pending migrations; return the names applied."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )
    done = {row[0] for row in con.execute("SELECT version FROM schema_migrations").fetchall()}
    applied = []
    for version, name, sql in migrations():
        if version in done:
            continue
        con.execute("BEGIN")
        try:
            con.execute(sql)
            con.execute("INSERT INTO schema_migrations (version, name) VALUES (?, ?)", [version, name])
            con.execute("COMMIT")
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            raise WarehouseError(f"migration {version:03d}_{name} failed: {exc}") from None
        applied.append(f"{version:03d}_{name}")
    return applied


def open_warehouse(path: str | Path) -> duckdb.DuckDBPyConnection:
    """Open for writing and bring the schema up to date."""
    con = connect(path)
    try:
        migrate(con)
    except Exception:
        con.close()
        raise
    return con
