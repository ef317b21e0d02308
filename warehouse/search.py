"""Full-text search for analysts: a BM25 index over article titles and text (DuckDB's `fts`
extension, loaded from the `duckdb-extension-fts` package so it works offline), rebuilt after each
load and carried into the snapshot."""

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


def refresh_index(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)build the BM25 index over articles (title and text; summary when there is no text)."""
    load_extension(con, "fts")
    con.execute(
        "PRAGMA create_fts_index('articles', 'id', 'title', 'text', 'summary', "
        "stemmer = 'porter', stopwords = 'english', strip_accents = 1, lower = 1, overwrite = 1)"
    )


def search(con: duckdb.DuckDBPyConnection, query: str, since: datetime | None = None, axis_only: bool = False,
           limit: int = 20):
    """Best-matching articles, newest story context included; returns an Arrow table."""
    load_extension(con, "fts")
    exists = con.execute(
        "SELECT count(*) FROM duckdb_schemas() WHERE schema_name = 'fts_main_articles'"
    ).fetchone()[0]
    if not exists:
        raise WarehouseError("no search index yet: run `axiswatch run` (the index is built after each load)")
    return con.execute(
        """
        SELECT round(m.score, 3) AS relevance, coalesce(a.published_at, a.first_seen_at) AS published_at, a.outlet,
               a.title, a.canonical_url AS url, t.is_axis, c.cluster_id
        FROM (SELECT id, fts_main_articles.match_bm25(id, ?) AS score FROM articles) m
        JOIN articles a ON a.id = m.id
        LEFT JOIN v_article_tags_latest t ON t.article_id = a.id
        LEFT JOIN article_clusters c ON c.article_id = a.id
        WHERE m.score IS NOT NULL
          AND (?::TIMESTAMPTZ IS NULL OR coalesce(a.published_at, a.first_seen_at) >= ?)
          AND (NOT ? OR coalesce(t.is_axis, false))
        ORDER BY m.score DESC LIMIT ?
        """,
        [query, since, since, axis_only, limit],
    ).arrow()
