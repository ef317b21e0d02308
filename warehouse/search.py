"""Full-text search for analysts: BM25 over article titles and text (DuckDB's `fts` extension,
loaded from the `duckdb-extension-fts` package so it works offline), refreshed after each load and
carried into the snapshot.

DuckDB's fts index cannot be updated, only rebuilt, and a rebuild reads every article: on a
warehouse of a million articles that is minutes, every night. So the index has two parts: the
archive (an index on ``articles``, covering what existed at its last full build) and the recent
part (an index on ``search_recent``, a copy of the articles added since). After a load only the
recent part is rebuilt, which costs what was added since the last full build, not the history.
The maintenance DAG rebuilds everything (``refresh_index(full=True)``), and so does any refresh
that finds the recent part grown past a fifth of the archive. Search asks both parts.
"""

from __future__ import annotations

import importlib.util
from datetime import datetime
from pathlib import Path

import duckdb

from warehouse.db import WarehouseError


def load_extension(con: duckdb.DuckDBPyConnection, name: str) -> None:
    """Install and load a DuckDB extension from its PyPI package, never from the internet."""
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
    con.execute(f"LOAD '{str(path).replace(chr(39), chr(39) * 2)}'")


_FTS_OPTIONS = "stemmer = 'porter', stopwords = 'english', strip_accents = 1, lower = 1, overwrite = 1"
REBUILD_SHARE = 0.2  # a full rebuild once the recent part exceeds this share of the archive


def _has_index(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return con.execute(
        "SELECT count(*) FROM duckdb_schemas() WHERE schema_name = ?", [f"fts_main_{table}"]
    ).fetchone()[0] > 0


def refresh_index(con: duckdb.DuckDBPyConnection, full: bool = False) -> dict:
    """Make every stored article searchable; returns which part was rebuilt and its size."""
    load_extension(con, "fts")
    if not full and _has_index(con, "articles"):
        archived = con.execute("SELECT count(*) FROM fts_main_articles.docs").fetchone()[0]
        con.execute(
            "CREATE OR REPLACE TABLE search_recent AS SELECT a.id, a.title, a.text, a.summary FROM articles a"
            " ANTI JOIN fts_main_articles.docs d ON d.name = a.id"
        )
        recent = con.execute("SELECT count(*) FROM search_recent").fetchone()[0]
        if recent <= REBUILD_SHARE * archived:
            if recent:
                con.execute(f"PRAGMA create_fts_index('search_recent', 'id', 'title', 'text', 'summary', {_FTS_OPTIONS})")
            elif _has_index(con, "search_recent"):
                con.execute("PRAGMA drop_fts_index('search_recent')")
            return {"rebuilt": "recent", "articles": recent}
    con.execute(f"PRAGMA create_fts_index('articles', 'id', 'title', 'text', 'summary', {_FTS_OPTIONS})")
    if _has_index(con, "search_recent"):
        con.execute("PRAGMA drop_fts_index('search_recent')")
    con.execute("DROP TABLE IF EXISTS search_recent")
    return {"rebuilt": "all", "articles": con.execute("SELECT count(*) FROM fts_main_articles.docs").fetchone()[0]}


def search(con: duckdb.DuckDBPyConnection, query: str, since: datetime | None = None, axis_only: bool = False,
           limit: int = 20):
    """Best-matching articles, newest story context included; returns an Arrow table."""
    load_extension(con, "fts")
    if not _has_index(con, "articles"):
        raise WarehouseError("no search index yet: run `axiswatch run` (the index is built after each load)")
    recent = (
        " UNION ALL SELECT id, fts_main_search_recent.match_bm25(id, $q) AS score FROM search_recent"
        if _has_index(con, "search_recent") else ""
    )
    return con.execute(
        f"""
        SELECT round(m.score, 3) AS relevance, coalesce(a.published_at, a.first_seen_at) AS published_at, a.outlet,
               a.title, a.canonical_url AS url, t.is_axis, c.cluster_id
        FROM (SELECT id, fts_main_articles.match_bm25(id, $q) AS score FROM articles{recent}) m
        JOIN articles a ON a.id = m.id
        LEFT JOIN v_article_tags_latest t ON t.article_id = a.id
        LEFT JOIN article_clusters c ON c.article_id = a.id
        WHERE m.score IS NOT NULL
          AND ($since::TIMESTAMPTZ IS NULL OR coalesce(a.published_at, a.first_seen_at) >= $since)
          AND (NOT $axis_only OR coalesce(t.is_axis, false))
        ORDER BY m.score DESC LIMIT $limit
        """,
        {"q": query, "since": since, "axis_only": axis_only, "limit": limit},
    ).arrow()
