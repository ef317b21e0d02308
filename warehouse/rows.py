"""The loaded tables' rows as typed Arrow columns, built straight from the pass's objects.

The load inserts Arrow tables (row-by-row inserts into DuckDB are hundreds of times slower).
Articles carry most of a night's bytes, so ``ArticleRows`` can turn them into Arrow a chunk at a
time while the night is still downloading; the load transaction then writes ready columns, as
DuckDB's bulk insert does, and holds the warehouse for less time.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from operator import attrgetter

import pyarrow as pa

from ingest.records import Entry, Extraction, FeedResult
from transform.articles import Article, Duplicate, build_article
from transform.early_tags import Early

TIME = pa.timestamp("us", tz="UTC")
TEXT = pa.string()

# The loaded tables' columns and their Arrow types, in table order.
FETCH_COLUMNS = {
    "run_id": TEXT, "feed": TEXT, "url": TEXT, "fetched_at": TIME, "status": TEXT,
    "http_status": pa.int32(), "bytes": pa.int64(), "duration_ms": pa.int32(), "entries": pa.int32(),
    "feed_format": TEXT, "error_kind": TEXT, "error": TEXT, "entries_deferred": pa.int32(),
}
ARTICLE_COLUMNS = {
    "id": TEXT, "canonical_url": TEXT, "url": TEXT, "feed": TEXT, "outlet": TEXT, "title": TEXT,
    "summary": TEXT, "text": TEXT, "language": TEXT, "author": TEXT, "published_at": TIME,
    "first_seen_at": TIME, "content_hash": TEXT, "fetch_status": TEXT, "fetch_error": TEXT,
    "http_status": pa.int32(), "run_id": TEXT, "guid": TEXT, "raw_entry": TEXT,
}
DUPLICATE_COLUMNS = {
    "canonical_url": TEXT, "article_id": TEXT, "url": TEXT, "feed": TEXT, "outlet": TEXT,
    "title": TEXT, "reason": TEXT, "first_seen_at": TIME, "run_id": TEXT,
}
# What is known of an article when it is built; the run's id and load time are added at the load.
_RUN_COLUMNS = ("run_id", "first_seen_at")
_BUILT_ARTICLE_COLUMNS = {name: kind for name, kind in ARTICLE_COLUMNS.items() if name not in _RUN_COLUMNS}
_BUILT_ARTICLE_SCHEMA = pa.schema(list(_BUILT_ARTICLE_COLUMNS.items()))
KEEP = "_keep"  # the boolean column of ``ArticleRows.table`` that says which rows to write


def typed_table(objects: Sequence, columns: dict[str, pa.DataType], **given: object) -> pa.Table:
    """Arrow columns built straight from the objects with their types given: no per-row dicts
    (at 10,000 articles they were most of the load's Python time, and their allocations can set off
    garbage collections of the whole heap inside the load) and no type inference.

    A column is the objects' attribute of the same name, unless ``given`` names it: a function
    of the object, or one value for every row."""
    def values(name: str) -> list:
        if name not in given:
            return list(map(attrgetter(name), objects))
        value = given[name]
        return list(map(value, objects)) if callable(value) else [value] * len(objects)

    return pa.table({name: pa.array(values(name), kind) for name, kind in columns.items()})


def fetches_table(feeds: Sequence[FeedResult], run_id: str, now: datetime) -> pa.Table:
    return typed_table(
        feeds, FETCH_COLUMNS, run_id=run_id, fetched_at=now,
        feed=lambda r: r.source.name, url=lambda r: r.source.url, entries=lambda r: len(r.entries),
        error_kind=lambda r: r.error_kind or None, error=lambda r: r.error or None,
    )


def duplicates_table(duplicates: Sequence[Duplicate], run_id: str, now: datetime) -> pa.Table:
    return typed_table(duplicates, DUPLICATE_COLUMNS, run_id=run_id, first_seen_at=now)


class ArticleRows:
    """Articles as Arrow record batches, converted ``chunk_size`` at a time as they are added.

    The pipeline adds articles as their pages come back from extraction, while other pages are
    still downloading, so the conversion (copying every page's text into Arrow buffers, with
    the page faults of fresh memory) is done while the pass waits on the network, not inside
    the load transaction. Exact duplicates are only known once every page is in, so rows are
    added for every article and ``table`` marks the ones to write."""

    def __init__(self, chunk_size: int = 512) -> None:
        self.chunk_size = chunk_size
        self._pending: list[Article] = []
        self._batches: list[pa.RecordBatch] = []
        self._ids: list[str] = []  # of every added article, in row order
        self._known: set[str] = set()

    def __len__(self) -> int:
        return len(self._ids)

    @property
    def converted(self) -> int:
        """How many rows are in Arrow already (the rest wait for a full chunk or ``table``)."""
        return len(self._ids) - len(self._pending)

    def add(self, articles: Iterable[Article]) -> None:
        """Queue articles for conversion (an id already added is skipped: it would be a key twice)."""
        for article in articles:
            if article.id not in self._known:
                self._known.add(article.id)
                self._ids.append(article.id)
                self._pending.append(article)
        if len(self._pending) >= self.chunk_size:
            self.convert()

    def convert(self) -> None:
        """Convert every queued article now (``add`` does so a full chunk at a time; the pass
        calls this for the rest once its last pages are in, so the load finds every row ready)."""
        if self._pending:
            table = typed_table(self._pending, _BUILT_ARTICLE_COLUMNS, fetch_error=lambda a: a.fetch_error or None)
            self._batches.extend(table.to_batches())
            self._pending = []

    def table(self, articles: Sequence[Article], run_id: str, now: datetime) -> pa.Table:
        """Every added row with the run's columns, and ``KEEP`` true for the rows of ``articles``
        (added now if they were not before): the rows the load is to write."""
        self.add(articles)
        self.convert()
        wanted = {a.id for a in articles}
        rows = len(self._ids)
        table = pa.Table.from_batches(self._batches, _BUILT_ARTICLE_SCHEMA)
        table = table.append_column("run_id", pa.array([run_id] * rows, TEXT))
        table = table.append_column("first_seen_at", pa.array([now] * rows, TIME))
        return table.append_column(KEEP, pa.array([i in wanted for i in self._ids], pa.bool_()))


class ArticleBuilder:
    """Articles built from their entries and extracted pages as the pages come in, and turned
    into Arrow rows a chunk at a time (``ArticleRows``), so the load after the last page only
    has to write them."""

    def __init__(self, entries: dict[str, Entry], early: Mapping[str, Early] | None = None,
                 hashes: Mapping[str, str] | None = None) -> None:
        self.entries = entries
        self.early = early if early is not None else {}  # built already, where the page was extracted
        self.hashes = hashes if hashes is not None else {}  # content hashes made there, by canonical URL
        self.articles: dict[str, Article] = {}  # by canonical URL
        self.rows = ArticleRows()

    def add(self, pages: dict[str, Extraction]) -> None:
        """Build the articles of ``pages`` (by canonical URL) not built before (or take the ones
        built where the pages were extracted)."""
        built = [self._build(url, page) for url, page in pages.items() if url not in self.articles]
        self.articles.update((a.canonical_url, a) for a in built)
        self.rows.add(built)

    def _build(self, url: str, page: Extraction) -> Article:
        early = self.early.get(url)
        return early.article if early is not None else build_article(url, self.entries[url], page, self.hashes.get(url))

    def articles_by_id(self) -> list[str]:
        return [a.id for a in self.articles.values()]

    def in_entry_order(self) -> list[Article]:
        """The built articles in the order of the entries (the order exact dedup keeps first)."""
        return [self.articles[url] for url in self.entries if url in self.articles]
