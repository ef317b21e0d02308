"""Articles built and tagged where their page is extracted, before they are stored.

Tagging after the load waits for the last page and runs on one core; building and tagging each
article in the extraction worker that just extracted its page spreads the work over every core
while other pages are still downloading. The load stores that very article, so its tag equals
the tag the tag step would make from the stored row; the tag step takes it instead of reading
the article back.
"""

from __future__ import annotations

from collections.abc import Callable, Container, Mapping
from dataclasses import dataclass
from typing import TypeVar

from ingest.records import Entry, Extraction
from transform.articles import Article, build_article
from transform.clusters import Doc, Signature, signature, warm_signatures
from transform.first_copies import FirstCopies
from transform.settings import ClusterSettings
from transform.supply_events import SupplyEvent, SupplyEventExtractor
from transform.tagging import Tag, Tagger

T = TypeVar("T")


@dataclass
class Early:
    """What a page's extraction worker made of it: the article and, for a new one, its tag and,
    for a new axis article, its supply events (None: not read here)."""

    article: Article
    tag: Tag | None = None
    events: list[SupplyEvent] | None = None
    signature: Signature | None = None  # its story signature (the cluster step assigns it a story)


class TagOnExtract:
    """``derive`` for the page extractor: the article a page makes, its tag and, given the
    cluster settings, its story signature (shingling and hashing the text, the cluster step's
    CPU work, done on every core while other pages download).

    Pages in ``skip`` get no tag: a failed page fetched again updates a stored article, keeping
    its stored summary, so the article stored is not the one built here. Nor does a page whose
    text an earlier page had (see ``transform.first_copies``): the load keeps one copy of a text."""

    def __init__(self, entries: Mapping[str, Entry], tagger: Tagger, skip: Container[str] = (),
                 events: SupplyEventExtractor | None = None, clusters: ClusterSettings | None = None) -> None:
        self.entries = entries
        self.tagger = tagger
        self.skip = skip
        self.events = events  # axis articles are also read for supply events (the cluster step stores them)
        self.clusters = clusters  # and new articles get their story signatures (the cluster step uses them)
        self.copies = FirstCopies(len(entries))  # before the workers fork: they share it
        if clusters is not None:
            warm_signatures()  # here, before the workers fork: they inherit it instead of each loading it

    def __call__(self, pages: list[tuple[str, Extraction]]) -> list[Early | None]:
        """One batch of extracted pages, phase by phase (build, tag, read, sign): each phase's
        code and data stay in the core's caches for the whole batch (the tagger's word tables,
        the event rules, the hash permutations), which costs less than switching at every page.
        A phase that fails on a page leaves that page's value None (the tag and cluster steps
        make it from the stored row) and the batch's other pages keep theirs."""
        made = [_quietly(self._article, url, page) or (None, False) for url, page in pages]
        first = [early for early, is_first in made if is_first]
        for early in first:
            a = early.article
            early.tag = _quietly(self.tagger.tag, a.id, a.title, a.text, a.summary, a.language,
                                 identify_language=False)
        if self.events is not None:
            for early in first:
                if early.tag is not None and early.tag.is_axis:
                    a = early.article
                    early.events = _quietly(self.events.extract, a.title, a.summary, a.text, a.language)
        if self.clusters is not None:
            for early in first:
                # As the cluster step reads the stored row (warehouse.clusters.unclustered).
                a = early.article
                early.signature = _quietly(signature, Doc(a.id, a.title or "", a.text or "", a.summary or "",
                                                          a.canonical_url), self.clusters)
        return [early for early, _ in made]

    def _article(self, url: str, page: Extraction) -> tuple[Early | None, bool]:
        """The page's article, and whether it is to be tagged, read and signed here: the first
        page with its text, and not a failed page fetched again."""
        if url not in self.entries:
            return None, False
        article = build_article(url, self.entries[url], page)
        return Early(article), url not in self.skip and self.copies.first(article.content_hash)


def _quietly(work: Callable[..., T], *args, **kwargs) -> T | None:
    """``work``'s value, None when it raises: all done here is a head start on a later step."""
    try:
        return work(*args, **kwargs)
    except Exception:  # noqa: BLE001 - whoever needs the value makes it from the stored row
        return None
