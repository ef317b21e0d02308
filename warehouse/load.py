"""Loading one pass into the warehouse: one transaction, bulk inserts through Arrow, idempotent.

Rows go in from Arrow tables (row-by-row inserts into DuckDB are hundreds of times slower): new
rows only, by an anti-join on the key, for what is appended; ``MERGE`` for what is upserted
(feeds, tags). Neither relies on key constraints, so the same statements run on a DuckLake. Feed validators are committed in the same
transaction as the articles they led to, so a crash never leaves a feed marked as read while
its articles are missing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import duckdb
import pyarrow as pa

from ingest.http import is_transient
from ingest.records import Entry, FeedResult, FeedSource, FeedState
from ingest.settings import PageRetrySettings
from transform.articles import Article, Duplicate
from transform.tagging import Tag
from warehouse.clusters import refresh_story_axis, stories_of_articles
from warehouse.db import fetch_dicts, in_transaction, registered
from warehouse.rows import KEEP, ArticleRows, duplicates_table, fetches_table


@dataclass
class RunRecord:
    """The row written to ``pipeline_runs``."""

    run_id: str
    started_at: datetime
    finished_at: datetime | None = None
    status: str = "running"
    feeds_ok: int = 0
    feeds_failed: int = 0
    entries_seen: int = 0
    articles_new: int = 0
    duplicates: int = 0
    axis_new: int = 0
    errors: list[dict] = field(default_factory=list)
    pages_failed: int = 0


Rows = list[dict] | pa.Table


def _batch_table(rows: Rows) -> pa.Table:
    if isinstance(rows, pa.Table):
        return rows
    # Column lists, not a list of dicts: pyarrow builds them about four times faster.
    return pa.Table.from_pydict({name: [row[name] for row in rows] for name in rows[0]})


def _upsert(con: duckdb.DuckDBPyConnection, table: str, rows: Rows, key: Sequence[str]) -> int:
    """Bulk upsert rows by ``key``: new keys are inserted, stored ones get the other columns.

    MERGE rather than ON CONFLICT: it needs no key constraint, so it is the same statement on a
    DuckDB file and on a DuckLake (which has none)."""
    columns = rows.column_names if isinstance(rows, pa.Table) else list(rows[0]) if rows else []
    updates = ", ".join(f"{c} = b.{c}" for c in columns if c not in key)
    return _write_batch(con, rows, f"MERGE INTO {table} t USING _batch b ON {_match(key)}"
                                   f" WHEN MATCHED THEN UPDATE SET {updates} WHEN NOT MATCHED THEN INSERT BY NAME")


def append_new(con: duckdb.DuckDBPyConnection, table: str, rows: Rows, key: Sequence[str],
               keep: str | None = None) -> int:
    """Bulk insert the rows whose ``key`` is not stored yet; return how many were written. With
    ``keep``, only rows where that boolean column is true are candidates (it is not stored).

    An anti-join on the key, not ON CONFLICT: DuckDB's conflict path checks row by row and made
    the article load about half as fast as a plain insert. The table's key constraint still
    stands guard, so a batch that repeats a key fails loudly instead of storing it twice.
    Selecting by ``keep`` in SQL rather than filtering the Arrow table spares a copy of it."""
    source = f"(SELECT * EXCLUDE ({keep}) FROM _batch WHERE {keep})" if keep else "_batch"
    return _write_batch(con, rows, f"INSERT INTO {table} BY NAME SELECT * FROM {source} b"
                                   f" WHERE NOT EXISTS (SELECT 1 FROM {table} t WHERE {_match(key)})")


def _match(key: Sequence[str]) -> str:
    return " AND ".join(f"t.{k} = b.{k}" for k in key)


def _write_batch(con: duckdb.DuckDBPyConnection, rows: Rows, sql: str) -> int:
    """Run ``sql`` with ``rows`` visible as ``_batch``; DuckDB answers with the rows it wrote."""
    if len(rows) == 0:
        return 0
    with registered(con, "_batch", _batch_table(rows)):
        return con.execute(sql).fetchone()[0]


def sync_feeds(con: duckdb.DuckDBPyConnection, sources: Sequence[FeedSource]) -> None:
    """Upsert the configured feeds (keeping their validators and health history)."""
    rows = [
        {"name": s.name, "url": s.url, "outlet": s.outlet, "country": s.country,
         "language": s.language, "enabled": s.enabled, "affiliation": s.affiliation}
        for s in sources
    ]
    _upsert(con, "feeds", rows, ("name",))


def feed_states(con: duckdb.DuckDBPyConnection) -> dict[str, FeedState]:
    rows = con.execute("SELECT name, etag, last_modified, body_hash FROM feeds").fetchall()
    return {name: FeedState(etag or "", lm or "", bh or "") for name, etag, lm, bh in rows}


def known_urls(con: duckdb.DuckDBPyConnection, urls: Iterable[str]) -> set[str]:
    """Which of ``urls`` are already stored, as articles or as duplicates."""
    with registered(con, "_candidates", pa.table({"url": list(set(urls))})):
        rows = con.execute(
            "SELECT url FROM _candidates WHERE url IN (SELECT canonical_url FROM articles)"
            " OR url IN (SELECT canonical_url FROM article_duplicates)"
        ).fetchall()
    return {r[0] for r in rows}


def due_for_refetch(con: duckdb.DuckDBPyConnection, now: datetime) -> dict[str, Entry]:
    """Stored articles whose failed page is due to be fetched again, as the entries they came
    from (by canonical URL): they are fetched whether or not a feed still lists them."""
    rows = con.execute(
        "SELECT canonical_url, feed, outlet, url, coalesce(guid, ''), coalesce(title, ''), coalesce(summary, ''),"
        " published_at, coalesce(language, ''), coalesce(author, ''), coalesce(raw_entry, '{}')"
        " FROM articles WHERE next_fetch_at <= ? ORDER BY next_fetch_at, id",
        [now],
    ).fetchall()
    return {r[0]: Entry(*r[1:]) for r in rows}


def stored_ids(con: duckdb.DuckDBPyConnection, ids: Iterable[str]) -> set[str]:
    """Which of the article ``ids`` are stored already (in a run: pages fetched again)."""
    with registered(con, "_ids", pa.table({"id": list(set(ids))})):
        return {r[0] for r in con.execute("SELECT id FROM articles WHERE id IN (SELECT id FROM _ids)").fetchall()}


def known_hashes(con: duckdb.DuckDBPyConnection, hashes: Iterable[str]) -> dict[str, str]:
    """Content hash -> id of the stored article carrying it."""
    with registered(con, "_hashes", pa.table({"h": list(set(hashes))})):
        rows = con.execute(
            "SELECT content_hash, min(id) FROM articles WHERE content_hash IN (SELECT h FROM _hashes)"
            " GROUP BY content_hash"
        ).fetchall()
    return dict(rows)


def _start_run(con: duckdb.DuckDBPyConnection, run: RunRecord) -> None:
    """Record the run as running, in its own commit: a load that fails leaves it visible."""
    con.execute(
        "INSERT INTO pipeline_runs (run_id, started_at, status) SELECT ?, ?, 'running'"
        " WHERE NOT EXISTS (SELECT 1 FROM pipeline_runs WHERE run_id = ?)",
        [run.run_id, run.started_at, run.run_id],
    )


def load_pass(
    con: duckdb.DuckDBPyConnection,
    run: RunRecord,
    feeds: Sequence[FeedResult],
    articles: Sequence[Article],
    duplicates: Sequence[Duplicate],
    now: datetime,
    prebuilt: ArticleRows | None = None,
    refetched: Sequence[Article] = (),
    retry: PageRetrySettings = PageRetrySettings(),
) -> tuple[int, int]:
    """Write what a pass fetched in one transaction; return (articles inserted, duplicates inserted).

    The run's row is written first, on its own (a rerun of the same run finds it there).
    ``prebuilt`` holds Arrow rows of these articles (and maybe of others, not written) converted
    earlier, while the pass was downloading; what it lacks is converted here. ``refetched`` are
    stored articles whose failed page was fetched again (see ``record_refetches``).
    Tags and stories are derived afterwards from what is stored (see ``tag_untagged`` and
    ``cluster_new_articles``), so a crash in between is repaired by the next run."""
    _start_run(con, run)
    fetch_rows = fetches_table(feeds, run.run_id, now)
    article_rows = (prebuilt or ArticleRows()).table(articles, run.run_id, now)
    duplicate_rows = duplicates_table(duplicates, run.run_id, now)

    def write() -> tuple[int, int]:
        append_new(con, "feed_fetches", fetch_rows, ("run_id", "feed"))
        inserted = append_new(con, "articles", article_rows, ("id",), keep=KEEP)
        dup_inserted = append_new(con, "article_duplicates", duplicate_rows, ("canonical_url",))
        schedule_retries(con, [a for a in articles if a.fetch_status != "ok"], now, retry)
        record_refetches(con, refetched, now, retry)
        _update_feed_state(con, feeds, now)
        run.articles_new, run.duplicates = inserted, dup_inserted  # what was written, not what was offered
        finish_run(con, run)
        return inserted, dup_inserted

    return in_transaction(con, write)


def _retry_at(now: datetime, attempts: int, retry: PageRetrySettings) -> datetime | None:
    """When a page fetched ``attempts`` times, the last failing for a network reason, is due again."""
    if attempts >= retry.max_attempts:
        return None
    return now + timedelta(minutes=retry.retry_after_minutes * 2 ** (attempts - 1))


def schedule_retries(con: duckdb.DuckDBPyConnection, failed: Sequence[Article], now: datetime,
                     retry: PageRetrySettings) -> None:
    """New articles whose page failed for a network reason: fetched once, due again later."""
    due = _retry_at(now, 1, retry)
    ids = [a.id for a in failed if is_transient(a.fetch_error, a.http_status)]
    if ids and due is not None:
        con.execute("UPDATE articles SET fetch_attempts = 1, next_fetch_at = ? WHERE list_contains(?, id)", [due, ids])


def record_refetches(con: duckdb.DuckDBPyConnection, refetched: Sequence[Article], now: datetime,
                     retry: PageRetrySettings) -> None:
    """Write what fetching failed pages again gave. A page that came back replaces the stored
    summary-only article's text (its tags are dropped so the tag step tags the text; its story
    stays, as story ids never change); one that failed again waits longer, or is given up
    after ``retry.max_attempts`` fetches with the reason saying so."""
    if not refetched:
        return
    attempts = dict(con.execute(
        "SELECT id, coalesce(fetch_attempts, 1) FROM articles WHERE list_contains(?, id)",
        [[a.id for a in refetched]]).fetchall())
    recovered = [a for a in refetched if a.fetch_status == "ok"]
    for a in recovered:
        con.execute(
            "UPDATE articles SET url = ?, title = ?, text = ?, language = ?, author = ?, content_hash = ?,"
            " fetch_status = 'ok', fetch_error = NULL, http_status = ?, fetch_attempts = ?, next_fetch_at = NULL"
            " WHERE id = ?",
            [a.url, a.title, a.text, a.language, a.author, a.content_hash, a.http_status,
             attempts.get(a.id, 1) + 1, a.id],
        )
    if recovered:
        con.execute("DELETE FROM article_tags WHERE list_contains(?, article_id)", [[a.id for a in recovered]])
    for a in refetched:
        if a.fetch_status == "ok":
            continue
        made = attempts.get(a.id, 1) + 1
        due = _retry_at(now, made, retry) if is_transient(a.fetch_error, a.http_status) else None
        reason = a.fetch_error if due is not None else f"{a.fetch_error} (given up after {made} fetches)"
        con.execute(
            "UPDATE articles SET fetch_error = ?, http_status = ?, fetch_attempts = ?, next_fetch_at = ? WHERE id = ?",
            [reason, a.http_status, made, due, a.id],
        )


def insert_tags(con: duckdb.DuckDBPyConnection, tags: Sequence[Tag], now: datetime) -> int:
    """Store tags; a tag for the same article and tagger version replaces the older one. The axis
    facts of the stories these articles belong to are rewritten with them (same transaction)."""
    rows = [
        {"article_id": t.id, "tagger_version": t.tagger_version, "is_axis": t.is_axis, "score": t.score,
         "countries": t.countries, "topics": t.topics, "matches": json.dumps(t.matches, ensure_ascii=False),
         "tagged_at": now}
        for t in tags
    ]
    stored = _upsert(con, "article_tags", rows, ("article_id", "tagger_version"))
    refresh_story_axis(con, stories_of_articles(con, [t.id for t in tags]), now)
    return stored


def latest_axis_flags(con: duckdb.DuckDBPyConnection, article_ids: Sequence[str]) -> dict[str, bool]:
    """The current axis verdict of the given articles (those tagged before), to count changes."""
    with registered(con, "_ids", pa.table({"id": list(article_ids)})):
        rows = con.execute(
            "SELECT article_id, is_axis FROM v_article_tags_latest WHERE article_id IN (SELECT id FROM _ids)"
        ).fetchall()
    return dict(rows)


def run_row(con: duckdb.DuckDBPyConnection, run_id: str) -> dict | None:
    rows = fetch_dicts(con.execute("SELECT * FROM pipeline_runs WHERE run_id = ?", [run_id]))
    return rows[0] if rows else None


def unhealthy_feeds(con: duckdb.DuckDBPyConnection, streak: int) -> list[dict]:
    """Enabled feeds that failed ``streak`` or more runs in a row, worst first."""
    return fetch_dicts(con.execute(
        "SELECT name, url, failure_streak, last_success_at FROM feeds WHERE enabled AND failure_streak >= ?"
        " ORDER BY failure_streak DESC, name",
        [streak],
    ))


def finish_run(con: duckdb.DuckDBPyConnection, run: RunRecord) -> None:
    """Write the run's status and counts (called at load, and again when tagging is done)."""
    con.execute(
        "UPDATE pipeline_runs SET finished_at = ?, status = ?, feeds_ok = ?, feeds_failed = ?,"
        " entries_seen = ?, articles_new = ?, duplicates = ?, axis_new = ?, errors = ?, pages_failed = ? WHERE run_id = ?",
        [run.finished_at, run.status, run.feeds_ok, run.feeds_failed, run.entries_seen, run.articles_new,
         run.duplicates, run.axis_new, json.dumps(run.errors, ensure_ascii=False), run.pages_failed, run.run_id],
    )


def _update_feed_state(con: duckdb.DuckDBPyConnection, feeds: Sequence[FeedResult], now: datetime) -> None:
    """Advance validators and health of every fetched feed in two set-based statements."""
    ok = [r for r in feeds if r.ok]
    failed = [r.source.name for r in feeds if not r.ok]
    if ok:
        validators = pa.table({
            "name": [r.source.name for r in ok], "etag": [r.state.etag for r in ok],
            "last_modified": [r.state.last_modified for r in ok], "body_hash": [r.state.body_hash for r in ok],
        })
        with registered(con, "_ok", validators):
            con.execute(
                "UPDATE feeds SET etag = o.etag, last_modified = o.last_modified, body_hash = o.body_hash,"
                " last_fetched_at = ?, last_success_at = ?, failure_streak = 0 FROM _ok o WHERE feeds.name = o.name",
                [now, now],
            )
    if failed:
        con.execute(
            "UPDATE feeds SET last_fetched_at = ?, failure_streak = failure_streak + 1 WHERE list_contains(?, name)",
            [now, failed],
        )


def articles_to_tag(
    con: duckdb.DuckDBPyConnection, since: datetime | None, untagged_by: str | None = None,
) -> list[tuple[str, datetime]]:
    """(id, first_seen_at) of the stored articles to tag, oldest first; with ``untagged_by``,
    only those without a tag from that tagger version."""
    return con.execute(
        "SELECT id, first_seen_at FROM articles a"
        " WHERE (?::TIMESTAMPTZ IS NULL OR coalesce(published_at, first_seen_at) >= ?)"
        " AND (?::VARCHAR IS NULL OR NOT EXISTS"
        "      (SELECT 1 FROM article_tags t WHERE t.article_id = a.id AND t.tagger_version = ?))"
        " ORDER BY first_seen_at, id",
        [since, since, untagged_by, untagged_by],
    ).fetchall()


def articles_for_tagging(
    con: duckdb.DuckDBPyConnection, since: datetime | None, untagged_by: str | None = None, batch_size: int = 5000,
    todo: list[tuple[str, datetime]] | None = None,
) -> Iterable[list[tuple[str, str, str, str, str]]]:
    """Stored articles (id, title, text, summary, language) in batches, oldest first; with
    ``untagged_by``, only those without a tag from that tagger version; ``todo`` (from
    ``articles_to_tag``) names them instead."""
    # Which articles first, on narrow columns only; then each batch's text, reading only the row
    # groups of that batch's time range (text is most of the warehouse, and it only grows). Each
    # batch is fetched whole before the caller writes: on a DuckLake with a SQLite catalog an open
    # reading cursor would keep the catalog locked against the caller's own commit.
    if todo is None:
        todo = articles_to_tag(con, since, untagged_by)
    for start in range(0, len(todo), batch_size):
        chunk = todo[start : start + batch_size]
        with registered(con, "_chunk", pa.table({"id": [r[0] for r in chunk]})):
            rows = con.execute(
                "SELECT id, coalesce(title, ''), coalesce(text, ''), coalesce(summary, ''), coalesce(language, '')"
                " FROM articles WHERE first_seen_at BETWEEN ? AND ? AND id IN (SELECT id FROM _chunk)"
                " ORDER BY first_seen_at, id",
                [chunk[0][1], chunk[-1][1]],
            ).fetchall()
        yield rows
