"""Tags made where a page is extracted, before the article is stored.

A night's tagging used to wait for the load and then run on one core; tagging each page in the
extraction worker that just extracted it spreads the work over every core while other pages are
still downloading. The tag is made from the very article the load stores (``build_article`` of
the same entry and page), so it equals the tag the tag step would make from the stored row; the
tag step takes it instead of reading the article back.
"""

from __future__ import annotations

from collections.abc import Container, Mapping

from ingest.records import Entry, Extraction
from transform.articles import build_article
from transform.tagging import Tag, Tagger


class TagOnExtract:
    """``derive`` for the page extractor: the tag of the article a page makes.

    Pages in ``skip`` get none: a failed page fetched again updates a stored article, keeping
    its stored summary, so the article stored is not the one built here."""

    def __init__(self, entries: Mapping[str, Entry], tagger: Tagger, skip: Container[str] = ()) -> None:
        self.entries = entries
        self.tagger = tagger
        self.skip = skip

    def __call__(self, url: str, page: Extraction) -> Tag | None:
        if url in self.skip or url not in self.entries:
            return None
        article = build_article(url, self.entries[url], page)
        return self.tagger.tag(article.id, article.title, article.text, article.summary, article.language,
                               identify_language=False)
