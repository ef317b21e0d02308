"""Analysts' SQL (``axiswatch query``) runs in DuckDB's own sandbox, so a query can read the
warehouse and nothing else.

A read-only snapshot alone is not enough: ``COPY (…) TO '<warehouse>.duckdb'`` replaced the
warehouse with a 7-byte CSV, and ``read_csv('/etc/passwd')`` read any file. So, after the snapshot
(or the lake, with its extensions loaded and its catalog attached) is open:

- ``enable_external_access = false``: no COPY TO, EXPORT, ATTACH, INSTALL/LOAD, no file reads;
  a lake's own data folder stays readable through ``allowed_directories``;
- extension auto-loading and Python replacement scans (a query naming a Python variable) off;
- ``lock_configuration = true``: no SET/RESET/PRAGMA can undo any of it.

DuckDB's lock does not cover table functions that change the session themselves
(``enable_logging(storage='file', …)`` switched file logging on under the lock and aborted the
process at exit; ``enable_profiling``, ``checkpoint``, ``query('…')`` run other work), nor the
lake's catalog scanners (``sqlite_scan`` read any SQLite file with external access off). So before a
statement runs, it must be a query (SELECT, WITH, FROM, VALUES, SHOW, DESCRIBE, SUMMARIZE) and
call none of those functions. Writing results is the job of ``--out`` and ``export``, in our code.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import duckdb

from warehouse.db import WarehouseError, is_lake
from warehouse.snapshot import open_snapshot


class QueryRefused(WarehouseError):
    """The SQL would do more than read the warehouse."""


# Table functions DuckDB runs even with the configuration locked, and which change the session,
# write, or run SQL we have not checked.
_REFUSED_FUNCTION = re.compile(
    r"^(enable_\w+|disable_\w+|verify_\w+|checkpoint|force_checkpoint|truncate_duckdb_logs|query|query_table"
    r"|json_execute_serialized_sql|import_database|copy_database|add_parquet_key|python_map_function"
    r"|pandas_scan|arrow_scan\w*"
    # The catalog scanners open any SQLite file or PostgreSQL database themselves, outside
    # DuckDB's file system and so outside the sandbox; DuckLake's maintenance writes the lake.
    r"|sqlite_\w+|postgres_\w+|ducklake_scan|ducklake_add_data_files|ducklake_cleanup_old_files|ducklake_commit"
    r"|ducklake_delete_orphaned_files|ducklake_expire_snapshots|ducklake_flush_inlined_data"
    r"|ducklake_merge_adjacent_files|ducklake_rewrite_data_files|ducklake_set_\w+)$",
    re.IGNORECASE,
)


def open_sandboxed(db: str | Path) -> duckdb.DuckDBPyConnection:
    """The warehouse's snapshot (or lake) opened read-only, then locked into DuckDB's sandbox."""
    con = open_snapshot(db)
    try:
        allowed = []
        if is_lake(con):  # the lake reads its Parquet files after the lock: allow its data folder only
            data_path = con.execute("SELECT value FROM lake.options() WHERE option_name = 'data_path'").fetchone()[0]
            allowed.append(data_path)
        for statement in (
            "SET python_enable_replacements = false",
            "SET autoinstall_known_extensions = false",
            "SET autoload_known_extensions = false",
            "SET allowed_directories = ?" if allowed else None,
            "SET enable_external_access = false",
            "SET lock_configuration = true",
        ):
            if statement:
                con.execute(statement, [allowed] if "?" in statement else None)
    except duckdb.Error as exc:
        con.close()
        raise WarehouseError(f"cannot lock the query sandbox: {str(exc).splitlines()[0]}") from None
    return con


def check_sql(con: duckdb.DuckDBPyConnection, sql: str) -> list[str]:
    """The statements of ``sql``, each checked to only read; raises QueryRefused otherwise."""
    if not sql.strip():
        raise QueryRefused("the query is empty: pass the SQL to run, e.g. \"SELECT count(*) FROM articles\"")
    try:
        statements = duckdb.extract_statements(sql)
    except duckdb.Error as exc:
        raise QueryRefused(f"query failed: {_one_line(exc)}") from None
    if not statements:
        raise QueryRefused("the query has no statement (only comments or semicolons?)")
    checked = []
    for statement in statements:
        text = statement.query
        kind = statement.type.name
        tree = json.loads(con.execute("SELECT json_serialize_sql(?::VARCHAR)", [text]).fetchone()[0])
        if kind != "SELECT" or tree.get("error"):
            word = text.split(None, 1)[0].upper() if text.strip() else kind
            raise QueryRefused(
                f"only queries run here (SELECT, WITH, FROM, SHOW, DESCRIBE, SUMMARIZE), not {word}: "
                "the warehouse is read-only; write results with --out FILE or `axiswatch export`"
            )
        refused = sorted({name for name in _function_names(tree) if _REFUSED_FUNCTION.match(name)})
        if refused:
            raise QueryRefused(f"{', '.join(refused)}() cannot be called here: it reaches outside the warehouse, writes, or changes the session")
        checked.append(text)
    return checked


def run_query(con: duckdb.DuckDBPyConnection, sql: str):
    """Run checked analyst SQL on a sandboxed connection; the last statement's result as Arrow."""
    statements = check_sql(con, sql)
    for text in statements[:-1]:
        con.execute(text)
    result = con.execute(statements[-1]).arrow()
    return result.read_all() if hasattr(result, "read_all") else result  # DuckDB 1.5 gives a reader


def _function_names(tree) -> set[str]:
    names = set()
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            if isinstance(node.get("function_name"), str):
                names.add(node["function_name"])
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return names


def _one_line(exc: Exception) -> str:
    return " ".join(str(exc).split())
