"""Full-text search for analysts: BM25 over article titles and text (DuckDB's `fts` extension,
loaded from the `duckdb-extension-fts` package so it works offline), refreshed after each load and
carried into the snapshot.

DuckDB's fts index cannot be updated, only rebuilt, and a rebuild reads every article: on a
warehouse of a million 400-word articles that takes minutes (`make bench-backends`, figures in
benchmarks/README.md). So the index has two parts: the
archive (an index on ``articles``, covering what existed at its last full build) and the recent
part (an index on ``search_recent``, a copy of the articles added since). After a load only the
recent part is rebuilt, which costs what was added since the last full build, not the history.
The maintenance DAG rebuilds everything (``refresh_index(full=True)``), and so does any refresh
that finds the recent part grown past a fifth of the archive. Search asks both parts.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import duckdb

from warehouse.db import WarehouseError, is_lake, load_extension, sql_string
from warehouse.settings import SearchSettings

STEMMER = "porter"  # the index's and the query's: both sides must stem alike
_FTS_OPTIONS = f"stemmer = '{STEMMER}', stopwords = 'english', strip_accents = 1, lower = 1, overwrite = 1"


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
    schema and table; on a lake, the search file attached as ``search`` (None if there is none).

    A lake's index file sits on a volume other machines read, where DuckDB's file lock does not
    hold. So it is never changed where it lies: a refresh updates a copy (``<file>.new``),
    checkpoints it and renames it over the old one, and a reader anywhere opens either the old
    index or the new one, never one half-written. A refresh that fails leaves the old one."""
    path = index_file(con)
    if path is None:
        yield "", "articles"
        return
    if not write and not Path(path).exists():
        yield None
        return
    target = f"{path}.new" if write else path
    if write:
        for stale in (Path(target), Path(f"{target}.wal")):  # a refresh that died before its rename
            stale.unlink(missing_ok=True)
        if Path(path).exists():
            shutil.copyfile(path, target)
    con.execute(f"ATTACH {sql_string(target)} AS search" + ("" if write else " (READ_ONLY)"))
    done = False
    try:
        yield "search.", "lake.articles"
        done = True
    finally:
        if write and done:
            con.execute("CHECKPOINT search")  # everything in the file itself: a rename leaves a WAL behind
        con.execute("USE lake")
        con.execute("DETACH search")
        if write:
            if done:
                os.replace(target, path)
            else:
                Path(target).unlink(missing_ok=True)
                Path(f"{target}.wal").unlink(missing_ok=True)


_FIELDS = ("title", "text", "summary")  # the article columns the index covers


def _build_index(con: duckdb.DuckDBPyConnection, prefix: str, table: str) -> None:
    """The fts index of ``table`` as the extension's ``create_fts_index`` makes it (its schema,
    stopwords and ``tokenize`` macro; ``docs``, ``dict`` and ``stats`` with the same rows), plus
    the postings: (term, document, term frequency) sorted by term, so a query reads the row
    groups of its own terms (DuckDB skips the others by their min/max) instead of scanning every
    token of every article, as the extension's ``match_bm25`` does (at a million 400-word
    articles its token table has 410 million rows, the postings 273 million).

    The extension numbers every token of every article and then fills in document lengths, term
    ids and document frequencies with UPDATEs over that token table; here each article's terms
    are counted once (term, document, frequency) and every table is made from those counts,
    which is faster (benchmarks/README.md, "Other figures"). The token table, which only
    ``match_bm25`` reads and which would be a fifth of a million-article warehouse file, is
    never made; nor is ``match_bm25`` (``search`` scores from the postings)."""
    schema = f"{prefix}fts_main_{table}"
    _empty_index(con, prefix, table)
    fields = " UNION ALL ".join(
        f"SELECT unnest({schema}.tokenize(a.{field})) AS w, a.rowid AS docid FROM {prefix}{table} a" for field in _FIELDS)
    try:
        # As the extension: the words of every field, less empty words and stopwords, stemmed.
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE fts_counts AS SELECT term, docid, CAST(count(*) AS INTEGER) AS tf FROM ("
            f" SELECT stem(w, '{STEMMER}') AS term, docid FROM ({fields})"
            f" WHERE w NOT NULL AND len(w) > 0 AND w NOT IN (SELECT sw FROM {schema}.stopwords))"
            " GROUP BY term, docid")
        con.execute(f"CREATE TABLE {schema}.dict AS SELECT row_number() OVER (ORDER BY term) - 1 AS termid, term,"
                    " count(*) AS df FROM fts_counts GROUP BY term")
        con.execute(
            f"CREATE TABLE {schema}.docs AS SELECT a.rowid AS docid, a.id AS name, CAST(coalesce(n.len, 0) AS BIGINT) AS len"
            f" FROM {prefix}{table} a LEFT JOIN (SELECT docid, sum(tf) AS len FROM fts_counts GROUP BY docid) n"
            " ON n.docid = a.rowid")
        con.execute(f"CREATE TABLE {schema}.stats AS SELECT count(docs.docid) AS num_docs,"
                    f" sum(docs.len) / count(docs.len) AS avgdl FROM {schema}.docs AS docs")
        con.execute(f"CREATE TABLE {schema}.postings AS SELECT d.termid, c.docid, c.tf FROM fts_counts c"
                    f" JOIN {schema}.dict d ON d.term = c.term ORDER BY d.termid, c.docid")
    finally:
        con.execute("DROP TABLE IF EXISTS fts_counts")


def _empty_index(con: duckdb.DuckDBPyConnection, prefix: str, table: str) -> None:
    """A fresh ``fts_main_<table>`` schema holding the extension's stopwords and ``tokenize``
    macro for our options, taken from an index the extension makes of an empty table (so they
    are the extension's own, whatever its version), and nothing else yet."""
    template = "fts_template"
    con.execute(f"CREATE OR REPLACE TABLE {prefix}{template} AS SELECT id, {', '.join(_FIELDS)} FROM {prefix}{table} LIMIT 0")
    try:
        con.execute(f"PRAGMA create_fts_index('{template}', 'id', {', '.join(sql_string(f) for f in _FIELDS)}, {_FTS_OPTIONS})")
        tokenize = con.execute(
            "SELECT macro_definition FROM duckdb_functions() WHERE database_name = current_database()"
            " AND schema_name = ? AND function_name = 'tokenize'", [f"fts_main_{template}"]).fetchone()[0]
        schema = f"{prefix}fts_main_{table}"
        con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        con.execute(f"CREATE SCHEMA {schema}")
        con.execute(f"CREATE TABLE {schema}.stopwords AS SELECT * FROM {prefix}fts_main_{template}.stopwords")
        con.execute(f"CREATE MACRO {schema}.tokenize(s) AS {tokenize}")
    finally:
        con.execute(f"DROP SCHEMA IF EXISTS {prefix}fts_main_{template} CASCADE")
        con.execute(f"DROP TABLE IF EXISTS {prefix}{template}")


@contextmanager
def _threads(con: duckdb.DuckDBPyConnection, threads: int) -> Iterator[None]:
    """DuckDB's thread count set to ``threads`` meanwhile, then set back. It is the database
    instance's setting: on a DuckDB file, another connection of this process (the run's, tagging
    and clustering beside the index) has it too while the index is built."""
    before = con.execute("SELECT current_setting('threads')").fetchone()[0]
    con.execute(f"SET threads = {int(threads)}")
    try:
        yield
    finally:
        try:
            con.execute(f"SET threads = {int(before)}")
        except duckdb.Error:
            pass  # a connection that failed: what failed it is being raised already


def refresh_index(con: duckdb.DuckDBPyConnection, full: bool = False,
                  settings: SearchSettings = SearchSettings()) -> dict:
    """Make every stored article searchable; returns which part was rebuilt and its size.

    New articles go into a small index of their own until they exceed ``settings.rebuild_share``
    of the archive; then the whole index is rebuilt. DuckDB builds it on ``settings.build_threads()``."""
    load_extension(con, "fts")
    with _threads(con, settings.build_threads()):
        return _refresh(con, full, settings)


def _refresh(con: duckdb.DuckDBPyConnection, full: bool, settings: SearchSettings) -> dict:
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
            if recent <= settings.rebuild_share * archived:
                if recent:
                    _build_index(con, prefix, "search_recent")
                elif _has_index(con, "search_recent", catalog):
                    con.execute("PRAGMA drop_fts_index('search_recent')")
                return {"rebuilt": "recent", "articles": recent}
        if prefix:  # the lake's articles, copied into the index file
            con.execute(f"CREATE OR REPLACE TABLE {prefix}articles AS SELECT id, title, text, summary FROM {source}")
        _build_index(con, prefix, "articles")
        if _has_index(con, "search_recent", catalog):
            con.execute("PRAGMA drop_fts_index('search_recent')")
        con.execute(f"DROP TABLE IF EXISTS {prefix}search_recent")
        return {"rebuilt": "all", "articles": con.execute(f"SELECT count(*) FROM {prefix}fts_main_articles.docs").fetchone()[0]}


K1, B = 1.2, 0.75  # the fts extension's BM25 defaults


def _scores_sql(con: duckdb.DuckDBPyConnection, schema: str, query: str) -> str | None:
    """SQL giving (id, score) for every document of one index part that matches ``query``: the
    BM25 of the extension's ``match_bm25`` (same tokenizer, stemmer, idf and defaults, so the same
    scores; a test compares them), computed from the postings of the query's terms only."""
    terms = con.execute(
        f"SELECT d.termid, log10(((s.num_docs - d.df + 0.5) / (d.df + 0.5)) + 1) FROM {schema}.dict d, {schema}.stats s"
        f" WHERE d.term IN (SELECT DISTINCT stem(unnest({schema}.tokenize($q)), '{STEMMER}'))",
        {"q": query},
    ).fetchall()
    if not terms:
        return None
    ids = ", ".join(str(int(termid)) for termid, _ in terms)  # literals: the scan prunes row groups by them
    idf = " ".join(f"WHEN {int(termid)} THEN CAST({float(weight)!r} AS DOUBLE)" for termid, weight in terms)
    return f"""
        SELECT d.name AS id, sum((CASE p.termid {idf} END) * (p.tf * CAST({K1 + 1} AS DOUBLE))
                                 / (p.tf + {K1} * (1 - {B} + {B} * d.len / s.avgdl))) AS score
        FROM {schema}.postings p JOIN {schema}.docs d ON d.docid = p.docid, {schema}.stats s
        WHERE p.termid IN ({ids}) GROUP BY d.name"""


def search(con: duckdb.DuckDBPyConnection, query: str, since: datetime | None = None, axis_only: bool = False,
           limit: int = 20):
    """The best-matching stories, one row each; returns an Arrow table.

    A story's copies (articles of one cluster) are scored separately, and the story is shown by
    its best-matching copy (its relevance, publication time, outlet, title, link and tag), with
    the story's copies (articles plus exact-duplicate URLs) and languages. An article not yet
    clustered is a story of its own. ``since`` (publication time, first seen when a source gives
    none) and ``axis_only`` filter the copies before the best ``limit`` stories are chosen; only
    those are joined to their articles, tags and stories."""
    load_extension(con, "fts")
    with _index_catalog(con, write=False) as found:
        prefix = found[0] if found else ""
        catalog = prefix.rstrip(".") or None
        if found is None or not _has_index(con, "articles", catalog):
            raise WarehouseError("no search index yet: run `axiswatch run` (the index is built after each load)")
        data = "lake." if prefix else ""
        if prefix:
            con.execute("USE search")  # fts's macros name their tables without a catalog
        parts = [_scores_sql(con, f"{prefix}fts_main_{table}", query) for table in ("articles", "search_recent")
                 if _has_index(con, table, catalog)]
        parts = [sql for sql in parts if sql]
        if not parts:
            parts = ["SELECT CAST(NULL AS VARCHAR) AS id, CAST(NULL AS DOUBLE) AS score WHERE false"]
        latest_tags = f"""
            SELECT article_id, is_axis FROM {data}article_tags WHERE article_id IN (SELECT id FROM {{ids}})
            QUALIFY row_number() OVER (PARTITION BY article_id ORDER BY tagged_at DESC, tagger_version DESC) = 1"""
        since_filter = (f" SEMI JOIN {data}articles a ON a.id = m.id"
                        " AND coalesce(a.published_at, a.first_seen_at) >= $since") if since else ""
        axis_filter = (f" SEMI JOIN ({latest_tags.format(ids='matched')}) x ON x.article_id = m.id AND x.is_axis"
                       if axis_only else "")
        params = {"limit": limit, **({"since": since} if since else {})}
        return con.execute(
            f"""
            WITH matched AS ({" UNION ALL ".join(parts)}),
            stories AS (
                SELECT m.id, m.score, c.cluster_id FROM matched m{since_filter}{axis_filter}
                LEFT JOIN {data}article_clusters c ON c.article_id = m.id
                QUALIFY row_number() OVER (PARTITION BY coalesce(c.cluster_id, 'article:' || m.id)
                                           ORDER BY m.score DESC, m.id) = 1
            ),
            best AS (SELECT id, score, cluster_id FROM stories ORDER BY score DESC, id LIMIT $limit),
            story_languages AS (
                SELECT c.cluster_id, list_sort(list_distinct(list(a.language)
                           FILTER (WHERE a.language IS NOT NULL AND a.language <> ''))) AS languages
                FROM {data}article_clusters c JOIN {data}articles a ON a.id = c.article_id
                WHERE c.cluster_id IN (SELECT cluster_id FROM best) GROUP BY c.cluster_id
            ),
            unclustered_duplicates AS (
                SELECT d.article_id, count(*) AS n FROM {data}article_duplicates d
                WHERE d.article_id IN (SELECT id FROM best WHERE cluster_id IS NULL) GROUP BY d.article_id
            )
            SELECT round(b.score, 3) AS relevance, coalesce(a.published_at, a.first_seen_at) AS published_at, a.outlet,
                   a.title, a.canonical_url AS url, t.is_axis, b.cluster_id,
                   CAST(coalesce(s.member_count, 1 + coalesce(u.n, 0)) AS INTEGER) AS copies,
                   coalesce(l.languages, list_filter([a.language], x -> x IS NOT NULL AND x <> '')) AS languages
            FROM best b
            JOIN {data}articles a ON a.id = b.id
            LEFT JOIN ({latest_tags.format(ids='best')}) t ON t.article_id = b.id
            LEFT JOIN {data}story_clusters s ON s.id = b.cluster_id
            LEFT JOIN story_languages l ON l.cluster_id = b.cluster_id
            LEFT JOIN unclustered_duplicates u ON u.article_id = b.id
            ORDER BY b.score DESC, a.id
            """,
            params,
        ).arrow().read_all()
