"""Tagging what is stored: every article without a tag from the current tagger version (a run),
or every article since a date (a retag), in batches, each batch's tags in one transaction."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from itertools import chain
from datetime import UTC, datetime

import duckdb

from ingest.progress import Progress, no_progress
from transform.tagging import Tag, Tagger
from warehouse.db import in_transaction
from warehouse.load import articles_for_tagging, articles_to_tag, insert_tags, latest_axis_flags


@dataclass
class TagSummary:
    tagger_version: str
    articles: int = 0
    axis: int = 0
    changed: int = 0

    def as_json(self) -> dict:
        return asdict(self)


def tag_stored(
    con: duckdb.DuckDBPyConnection, tagger: Tagger, since: datetime | None = None, only_untagged: bool = True,
    progress: Progress = no_progress, batch_size: int = 5000, pretagged: Mapping[str, Tag] | None = None,
) -> TagSummary:
    """Tag stored articles (only those without this tagger version's tag when ``only_untagged``);
    earlier versions' rows stay, so a retag can be compared with what it replaced.

    ``pretagged`` holds tags this tagger already made of articles as they were stored (made while
    their pages were extracted: ``transform.early_tags``); those are written as they are, without
    reading the articles back. The stored language is the one extraction identified from the same
    text, so the tagger does not identify it again."""
    summary = TagSummary(tagger.version)
    untagged_by = tagger.version if only_untagged else None
    progress("tagging", 0, 0)
    todo = articles_to_tag(con, since, untagged_by)
    ready = [pretagged[i] for i, _ in todo if pretagged and i in pretagged and pretagged[i].tagger_version == tagger.version]
    if ready:
        taken = {t.id for t in ready}
        todo = [row for row in todo if row[0] not in taken]
    batches = [ready[i : i + batch_size] for i in range(0, len(ready), batch_size)]
    made = ([tagger.tag(*row, identify_language=False) for row in batch]
            for batch in articles_for_tagging(con, since, untagged_by, batch_size, todo=todo))
    for tags in chain(batches, made):
        before = latest_axis_flags(con, [t.id for t in tags])
        in_transaction(con, lambda tags=tags: insert_tags(con, tags, datetime.now(UTC)))
        summary.articles += len(tags)
        summary.axis += sum(t.is_axis for t in tags)
        summary.changed += sum(before.get(t.id) is not None and before[t.id] != t.is_axis for t in tags)
        progress("tagging", summary.articles, summary.articles)
    return summary
