"""Tagging what is stored: every article without a tag from the current tagger version (a run),
or every article since a date (a retag), in batches, each batch's tags in one transaction."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime

import duckdb

from ingest.progress import Progress, no_progress
from transform.tagging import Tagger
from warehouse.db import in_transaction
from warehouse.load import articles_for_tagging, insert_tags, latest_axis_flags


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
    progress: Progress = no_progress, batch_size: int = 5000,
) -> TagSummary:
    """Tag stored articles (only those without this tagger version's tag when ``only_untagged``);
    earlier versions' rows stay, so a retag can be compared with what it replaced."""
    summary = TagSummary(tagger.version)
    untagged_by = tagger.version if only_untagged else None
    progress("tagging", 0, 0)
    for batch in articles_for_tagging(con, since, untagged_by, batch_size):
        tags = [tagger.tag(*row) for row in batch]
        before = latest_axis_flags(con, [t.id for t in tags])
        in_transaction(con, lambda tags=tags: insert_tags(con, tags, datetime.now(UTC)))
        summary.articles += len(tags)
        summary.axis += sum(t.is_axis for t in tags)
        summary.changed += sum(before.get(t.id) is not None and before[t.id] != t.is_axis for t in tags)
        progress("tagging", summary.articles, summary.articles)
    return summary
