"""Full-text search for analysts: BM25 over article titles and text (DuckDB's `fts` extension,
loaded from the `duckdb-extension-fts` package so it works offline), refreshed after each load and
carried into the snapshot.

DuckDB's fts index cannot be updated, only rebuilt, and a rebuild reads every article: on a
warehouse of a million articles that took 73-89 s (`make bench-backends`), every night. So the index has two parts: the
archive (an index on ``articles``, covering what existed at its last full build) and the recent
part (an index on ``search_recent``, a copy of the articles added since). After a load only the
recent part is rebuilt, which costs what was added since the last full build, not the history.
The maintenance DAG rebuilds everything (``refresh_index(full=True)``), and so does any refresh
that finds the recent part grown past a fifth of the archive. Search asks both parts.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import duckdb

from warehouse.db import WarehouseError, is_lake, load_extension, sql_string

_FTS_OPTIONS = "stemmer = 'porter', stopwords = 'english', strip_accents = 1, lower = 1, overwrite = 1"
REBUILD_SHARE = 0.2  # a full rebuild once the recent part exceeds this share of the archive


def _has_index(con: duckdb.DuckDBPyConnection, table: str, catalog: str | None = None) -> bool:
    return con.execute(
        "SELECT count(*) FROM duckdb_schemas() WHERE schema_name = ? AND (?::VARCHAR IS NULL OR database_name = ?)",
        [f"fts_main_{table}", catalog, catalog],
    ).fetchone()[0] > 0


def index_file(con: duckdb.DuckDBPyConnection) -> str | None:
    """Where a DuckLake's search index lives (None for a DuckDB file, which holds its own).

    The fts index cannot be stored in a lake (DuckLake has no type for some of its columns), so
    it is a DuckDB file beside the lake's data folder, shared the same way."""
    if not is_lake(con):
        return None
    data_path = con.execute("SELECT value FROM lake.options() WHERE option_name = 'data_path'").fetchone()[0]
    return data_path.rstrip("/\\") + ".search.duckdb"


@contextmanager
def _index_catalog(con: duckdb.DuckDBPyConnection, write: bool) -> Iterator[tuple[str, str] | None]:
    """(prefix of index objects, table of articles) for the index in use: on a DuckDB file, its own
    schema and table; on a lake, the search file attached as ``search`` (None if there is none)."""
    path = index_file(con)
    if path is None:
        yield "", "articles"
        return
    if not write and not Path(path).exists():
        yield None
        return
    con.execute(f"ATTACH {sql_string(path)} AS search" + ("" if write else " (READ_ONLY)"))
    try:
        yield "search.", "lake.articles"
    finally:
        con.execute("USE lake")
        con.execute("DETACH search")


def refresh_index(con: duckdb.DuckDBPyConnection, full: bool = False) -> dict:
    """Make every stored article searchable; returns which part was rebuilt and its size."""
    load_extension(con, "fts")
    with _index_catalog(con, write=True) as (prefix, source):
        catalog = prefix.rstrip(".") or None
        if prefix:
            con.execute("USE search")
        if not full and _has_index(con, "articles", catalog):
            archived = con.execute(f"SELECT count(*) FROM {prefix}fts_main_articles.docs").fetchone()[0]
            # Narrow columns first, then the text of only the row groups holding new articles:
            # reading every article's text each night would make the night grow with history.
            oldest = con.execute(
                f"SELECT min(a.first_seen_at) FROM {source} a ANTI JOIN {prefix}fts_main_articles.docs d ON d.name = a.id"
            ).fetchone()[0]
            con.execute(
                f"CREATE OR REPLACE TABLE {prefix}search_recent AS SELECT a.id, a.title, a.text, a.summary"
                f" FROM {source} a ANTI JOIN {prefix}fts_main_articles.docs d ON d.name = a.id"
                " WHERE a.first_seen_at >= coalesce(?::TIMESTAMPTZ, 'infinity'::TIMESTAMPTZ)",
                [oldest],
            )
            recent = con.execute(f"SELECT count(*) FROM {prefix}search_recent").fetchone()[0]
            if recent <= REBUILD_SHARE * archived:
                if recent:
                    con.execute(f"PRAGMA create_fts_index('search_recent', 'id', 'title', 'text', 'summary', {_FTS_OPTIONS})")
                elif _has_index(con, "search_recent", catalog):
                    con.execute("PRAGMA drop_fts_index('search_recent')")
                return {"rebuilt": "recent", "articles": recent}
        if prefix:  # the lake's articles, copied into the index file
            con.execute(f"CREATE OR REPLACE TABLE {prefix}articles AS SELECT id, title, text, summary FROM {source}")
        con.execute(f"PRAGMA create_fts_index('articles', 'id', 'title', 'text', 'summary', {_FTS_OPTIONS})")
        if _has_index(con, "search_recent", catalog):
            con.execute("PRAGMA drop_fts_index('search_recent')")
        con.execute(f"DROP TABLE IF EXISTS {prefix}search_recent")
        return {"rebuilt": "all", "articles": con.execute(f"SELECT count(*) FROM {prefix}fts_main_articles.docs").fetchone()[0]}


def search(con: duckdb.DuckDBPyConnection, query: str, since: datetime | None = None, axis_only: bool = False,
           limit: int = 20):
    """Best-matching articles, newest story context included; returns an Arrow table."""
    load_extension(con, "fts")
    with _index_catalog(con, write=False) as found:
        prefix = found[0] if found else ""
        catalog = prefix.rstrip(".") or None
        if found is None or not _has_index(con, "articles", catalog):
            raise WarehouseError("no search index yet: run `axiswatch run` (the index is built after each load)")
        data = "lake." if prefix else ""
        if prefix:
            con.execute("USE search")  # fts's macros name their tables without a catalog
        recent = (
            f" UNION ALL SELECT id, {prefix}fts_main_search_recent.match_bm25(id, $q) AS score FROM {prefix}search_recent"
            if _has_index(con, "search_recent", catalog) else ""
        )
        return con.execute(
            f"""
            SELECT round(m.score, 3) AS relevance, coalesce(a.published_at, a.first_seen_at) AS published_at, a.outlet,
                   a.title, a.canonical_url AS url, t.is_axis, c.cluster_id
            FROM (SELECT id, {prefix}fts_main_articles.match_bm25(id, $q) AS score FROM {prefix}articles{recent}) m
            JOIN {data}articles a ON a.id = m.id
            LEFT JOIN {data}v_article_tags_latest t ON t.article_id = a.id
            LEFT JOIN {data}article_clusters c ON c.article_id = a.id
            WHERE m.score IS NOT NULL
              AND ($since::TIMESTAMPTZ IS NULL OR coalesce(a.published_at, a.first_seen_at) >= $since)
              AND (NOT $axis_only OR coalesce(t.is_axis, false))
            ORDER BY m.score DESC LIMIT $limit
            """,
            {"q": query, "since": since, "axis_only": axis_only, "limit": limit},
        ).arrow().read_all()
