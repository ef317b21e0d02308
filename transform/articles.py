"""Articles: a feed entry joined with its extracted page, canonical URL and content hash.

Exact dedup lives here too: one article per canonical URL, and one per content hash, so a wire
story republished under another URL and headline is recorded as a duplicate of the first copy.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from ingest.language import detect_language
from ingest.records import Entry, Extraction
from ingest.text import strip_leading_title
from transform.canonical import canonical_url
from transform.fingerprint import article_id, content_hash


@dataclass
class Article:
    """One story copy as the warehouse stores it."""

    id: str
    canonical_url: str
    url: str
    feed: str
    outlet: str
    title: str
    summary: str
    text: str
    language: str
    author: str
    published_at: datetime | None
    content_hash: str
    fetch_status: str  # ok | failed
    fetch_error: str
    http_status: int | None
    guid: str
    raw_entry: str  # JSON text of the feed item's fields

    @property
    def body(self) -> str:
        """The best text we have: the page's, else the feed summary."""
        return self.text or self.summary


@dataclass
class Duplicate:
    """A URL whose content is an exact copy of an article stored under another URL."""

    canonical_url: str
    article_id: str
    url: str
    feed: str
    outlet: str
    title: str
    reason: str = "content_hash"


def unique_entries(entries: Iterable[Entry]) -> dict[str, Entry]:
    """Entries keyed by canonical URL; the first feed to list a URL keeps it."""
    by_url: dict[str, Entry] = {}
    for entry in entries:
        url = canonical_url(entry.link)
        if url and url not in by_url:
            by_url[url] = entry
    return by_url


def build_article(url: str, entry: Entry, page: Extraction, known_hash: str | None = None) -> Article:
    """Join an entry with its page; a failed page keeps the entry's summary and the reason.

    ``known_hash``: the content hash this function made of the same entry and page elsewhere (a
    page task's extraction worker); normalizing the text for it is most of building an article."""
    fetched = not page.reason and bool(page.text)
    title = entry.title or page.title
    text = strip_leading_title(page.text, entry.title) if fetched else ""
    # Extraction already identified the page's language; only feed-summary-only entries need it here.
    language = page.language if fetched and page.language else detect_language(f"{title}\n{entry.summary}", entry.language)
    return Article(
        id=article_id(url),
        canonical_url=url,
        url=entry.link,
        feed=entry.feed,
        outlet=entry.outlet,
        title=title,
        summary=entry.summary,
        text=text,
        language=language,
        author=entry.author or page.author,
        published_at=entry.published_at,
        content_hash=known_hash or content_hash(title, text, entry.summary),
        fetch_status="ok" if fetched else "failed",
        fetch_error=page.reason,
        http_status=page.http_status,
        guid=entry.guid,
        raw_entry=entry.raw,
    )


def split_exact_duplicates(
    articles: Iterable[Article], known_hashes: dict[str, str]
) -> tuple[list[Article], list[Duplicate]]:
    """Separate new articles from exact copies of stored ones or of earlier ones in this batch.

    ``known_hashes`` maps content hash to the id of the stored article that has it.
    """
    seen = dict(known_hashes)
    fresh: list[Article] = []
    duplicates: list[Duplicate] = []
    for article in articles:
        original = seen.get(article.content_hash)
        if original is None:
            seen[article.content_hash] = article.id
            fresh.append(article)
        else:
            duplicates.append(
                Duplicate(
                    canonical_url=article.canonical_url,
                    article_id=original,
                    url=article.url,
                    feed=article.feed,
                    outlet=article.outlet,
                    title=article.title,
                )
            )
    return fresh, duplicates
