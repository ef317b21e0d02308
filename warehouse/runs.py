"""The state of runs in ``pipeline_runs``, and the rule that only one run writes at a time.

A run goes ``running`` -> ``loaded`` -> ``finished``, or ends ``failed`` (its process reported an
error) or ``abandoned`` (a later run found its process gone, or the run older than the run
deadline). A run claims the warehouse by inserting its ``running`` row and then looking for other
active runs: if it finds any, it withdraws its row and waits. Because each claim is committed
before its check, two runs can never both see themselves alone (the later check always sees the
earlier commit); when both see each other, both withdraw and try again after a random wait.
This holds on a DuckDB file and on a DuckLake alike, and for Airflow runs, whose tasks run in
processes that come and go: the claim is a row, not a lock held by a process.
"""

from __future__ import annotations

import json
import os
import socket
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import duckdb

from warehouse.db import WarehouseError, fetch_dicts, in_transaction
from warehouse.location import Location

ACTIVE = ("running", "loaded")
DONE = ("loaded", "finished")  # the load committed (migration 010 renamed the old "success")


class RunBusy(WarehouseError):
    """Another run holds the warehouse."""

    cause = "busy"


@dataclass(frozen=True)
class Claimant:
    """Who a run is: its id and start, and the process that runs it (``pid`` None under Airflow,
    whose tasks run in processes that come and go)."""

    run_id: str
    started_at: datetime
    orchestrator: str = "cli"
    host: str = ""
    pid: int | None = None

    @classmethod
    def this_process(cls, run_id: str, started_at: datetime, orchestrator: str = "cli") -> Claimant:
        pid = os.getpid() if orchestrator == "cli" else None
        return cls(run_id, started_at, orchestrator, socket.gethostname(), pid)


def describe(row: dict) -> str:
    """'run-… (cli, PID 123 on host, started 2026-11-30 02:00 UTC, running)' for messages."""
    who = f"PID {row['pid']} on {row['host']}" if row.get("pid") else (row.get("host") or "unknown host")
    started = row["started_at"].strftime("%Y-%m-%d %H:%M:%S %Z") if row.get("started_at") else "?"
    return f"{row['run_id']} ({row.get('orchestrator') or 'cli'}, {who}, started {started}, {row['status']})"


def _process_gone(row: dict, host: str) -> bool:
    """Whether a command-line run's process has ended (only knowable on its own host)."""
    if not row.get("pid") or row.get("host") != host:
        return False
    try:
        os.kill(row["pid"], 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False  # alive, owned by someone else
    return False


def active_runs(con: duckdb.DuckDBPyConnection) -> list[dict]:
    return fetch_dicts(con.execute(
        "SELECT run_id, started_at, status, host, pid, orchestrator FROM pipeline_runs"
        " WHERE status IN ('running', 'loaded') ORDER BY started_at, run_id"
    ))


def abandon_stale(con: duckdb.DuckDBPyConnection, now: datetime, stale_after: timedelta | None, host: str,
                  keep: str | None = None) -> list[dict]:
    """Mark active runs whose process is gone, or that started more than ``stale_after`` ago
    (None: age alone never abandons), as abandoned; return them. What they left undone (tags, stories, the snapshot) is the next run's:
    tagging and clustering work from what is stored."""
    stale = []
    for row in active_runs(con):
        if row["run_id"] == keep:
            continue
        if _process_gone(row, host):
            stale.append((row, f"abandoned: its process (PID {row['pid']} on {host}) is gone"))
        elif stale_after is not None and row["started_at"] < now - stale_after:
            stale.append((row, f"abandoned: still {row['status']} {stale_after} after it started"))
    for row, reason in stale:
        con.execute(
            "UPDATE pipeline_runs SET status = 'abandoned', failure = ?, finished_at = ?"
            " WHERE run_id = ? AND status IN ('running', 'loaded')",
            [reason, now, row["run_id"]],
        )
    return [row for row, _ in stale]


def try_claim(con: duckdb.DuckDBPyConnection, me: Claimant) -> dict | None:
    """Record ``me`` as running; return None when no other run is active, else the active run
    that holds the warehouse (``me``'s claim is withdrawn again)."""
    def claim() -> str | None:
        row = con.execute("SELECT status FROM pipeline_runs WHERE run_id = ?", [me.run_id]).fetchone()
        if row is not None:  # a retried Airflow task, or a cleared run: the same run, running again
            con.execute(
                "UPDATE pipeline_runs SET status = 'running', host = ?, pid = ?, orchestrator = ?, failure = NULL,"
                " finished_at = NULL WHERE run_id = ?",
                [me.host, me.pid, me.orchestrator, me.run_id],
            )
        else:
            con.execute(
                "INSERT INTO pipeline_runs (run_id, started_at, status, host, pid, orchestrator)"
                " VALUES (?, ?, 'running', ?, ?, ?)",
                [me.run_id, me.started_at, me.host, me.pid, me.orchestrator],
            )
        return row[0] if row else None

    previous = in_transaction(con, claim)
    others = [r for r in active_runs(con) if r["run_id"] != me.run_id]
    if not others:
        return None
    if previous is not None:  # withdrawn: back to the state it had
        con.execute("UPDATE pipeline_runs SET status = ? WHERE run_id = ?", [previous, me.run_id])
    else:
        con.execute("DELETE FROM pipeline_runs WHERE run_id = ? AND status = 'running'", [me.run_id])
    return others[0]


def mark_failed(con: duckdb.DuckDBPyConnection, run_id: str, reason: str, now: datetime) -> None:
    """End an active run as failed, with the one-line reason ops read in ``axiswatch runs``."""
    con.execute(
        "UPDATE pipeline_runs SET status = 'failed', failure = ?, finished_at = ?"
        " WHERE run_id = ? AND status IN ('running', 'loaded')",
        [reason[:2000], now, run_id],
    )


def record(con: duckdb.DuckDBPyConnection, run_id: str, **counts: int) -> None:
    """Write a step's counts into the run's row (tagged, axis_new, clustered, stories_new, ...)."""
    if counts:
        assignments = ", ".join(f"{name} = ?" for name in counts)
        con.execute(f"UPDATE pipeline_runs SET {assignments} WHERE run_id = ?", [*counts.values(), run_id])


def stored_anything(row: dict) -> bool:
    """Whether a run changed what analysts read: the one rule for refreshing the search index and
    publishing a new snapshot (a quiet night of 304s copies nothing)."""
    keys = ("articles_new", "duplicates", "tagged", "clustered", "repaired")
    return any((row.get(k) or 0) > 0 for k in keys)


def mark_finished(con: duckdb.DuckDBPyConnection, run_id: str, now: datetime) -> None:
    con.execute(
        "UPDATE pipeline_runs SET status = 'finished', finished_at = ? WHERE run_id = ? AND status IN ('running', 'loaded')",
        [now, run_id],
    )


def recent_runs(con: duckdb.DuckDBPyConnection, limit: int = 20) -> list[dict]:
    """The newest runs first, with their state, counts and errors (``axiswatch runs``)."""
    return fetch_dicts(con.execute(
        "SELECT run_id, status, started_at, finished_at, orchestrator, host, pid, feeds_ok, feeds_failed,"
        " entries_seen, articles_new, duplicates, pages_failed, tagged, axis_new, clustered, stories_new,"
        " axis_stories_new, repaired, failure, errors FROM pipeline_runs ORDER BY started_at DESC, run_id DESC LIMIT ?",
        [limit],
    ))


# A command-line run on a DuckDB file holds the file through each of its steps, and a step can
# hold it longer than another process may wait for a lock (warehouse.lock_wait_seconds): a second
# run would then fail as "locked" instead of waiting for the first (run_wait_seconds). The first
# run says which process it is in a small file beside the warehouse, so the second can tell a run
# holding the file from a stranger (a forgotten DuckDB shell), which still fails fast. A DuckLake
# has no file lock, and Airflow's task processes come and go: neither writes one.

def _marker(database: str | Path) -> Path | None:
    location = Location.parse(database)
    if location.is_lake:
        return None
    path = Path(location.target)
    return path.with_name(path.name + ".run")


def mark_running(database: str | Path, me: Claimant) -> None:
    """Say, beside the warehouse file, that this process runs ``me`` (command-line runs only)."""
    path = _marker(database)
    if path is None or me.pid is None:
        return
    record = {"run_id": me.run_id, "pid": me.pid, "host": me.host, "orchestrator": me.orchestrator,
              "started_at": me.started_at.isoformat(), "status": "running"}
    temporary = path.with_name(path.name + f".{me.pid}")
    temporary.write_text(json.dumps(record), encoding="utf-8")
    os.replace(temporary, path)


def unmark_running(database: str | Path, run_id: str) -> None:
    """Remove this run's marker (another run's is left alone)."""
    path = _marker(database)
    if path is None or (running_marker(path) or {}).get("run_id") != run_id:
        return
    path.unlink(missing_ok=True)


def running_marker(path: Path) -> dict | None:
    try:
        record = json.loads(path.read_text(encoding="utf-8"))
        record["started_at"] = datetime.fromisoformat(record["started_at"])
        return record
    except (OSError, ValueError, KeyError, TypeError):
        return None


def run_holding(database: str | Path, pid: int | None) -> dict | None:
    """The run whose process ``pid`` holds the warehouse file, if that process is a live run on
    this host (its marker names it); None for any other holder."""
    path = _marker(database)
    if path is None or pid is None:
        return None
    record = running_marker(path)
    if record is None or record.get("pid") != pid or record.get("host") != socket.gethostname():
        return None
    return None if _process_gone(record, record["host"]) else record
