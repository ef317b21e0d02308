"""Supply events of stored axis stories: every copy of an axis story not yet read by the current
extractor version is read once (title, summary, text), and its events stored with their evidence
in the same transaction as the record that it was read, so a rerun reads nothing twice and a
killed run leaves no half-read article. ``v_axis_events`` aggregates them per story."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

import duckdb
import pyarrow as pa

from transform.supply_events import SupplyEvent, SupplyEventExtractor
from warehouse.db import in_transaction, registered
from warehouse.load import append_new

# The text of an article whose events were read already (``_preread``) is not read again.
_UNREAD = """
    SELECT a.id, p.id IS NOT NULL,
           CASE WHEN p.id IS NULL THEN coalesce(a.title, '') END, CASE WHEN p.id IS NULL THEN coalesce(a.summary, '') END,
           CASE WHEN p.id IS NULL THEN coalesce(a.text, '') END, coalesce(a.language, '')
    FROM article_clusters c JOIN articles a ON a.id = c.article_id LEFT JOIN _preread p ON p.id = a.id
    WHERE c.cluster_id IN (SELECT cluster_id FROM story_axis)
      AND NOT EXISTS (SELECT 1 FROM supply_event_scans s WHERE s.article_id = a.id AND s.extractor_version = ?)
    ORDER BY a.id
"""


@dataclass
class EventSummary:
    extractor_version: str
    articles: int = 0
    events: int = 0


def extract_stored(con: duckdb.DuckDBPyConnection, extractor: SupplyEventExtractor | None = None,
                   batch_size: int = 2000, preread: Mapping[str, list[SupplyEvent]] | None = None) -> EventSummary:
    """Read every unread copy of an axis story with ``extractor`` (the shipped patterns by default).

    ``preread`` has the events ``extractor`` already read from some of these articles, by id (the
    command line reads new axis articles where their pages are extracted): those are stored as
    they are."""
    extractor = extractor or SupplyEventExtractor.from_file()
    summary = EventSummary(extractor.version)
    preread = preread or {}
    with registered(con, "_preread", pa.table({"id": pa.array(list(preread), pa.string())})):
        rows = con.execute(_UNREAD, [extractor.version]).fetchall()
    for start in range(0, len(rows), batch_size):
        batch = rows[start:start + batch_size]
        now = datetime.now(UTC)
        scans, events = [], []
        for article_id, was_read, title, text_summary, text, language in batch:
            found = preread[article_id] if was_read else extractor.extract(title, text_summary, text, language)
            scans.append({"article_id": article_id, "extractor_version": extractor.version,
                          "events": len(found), "scanned_at": now})
            events += [{"article_id": article_id, "extractor_version": extractor.version, **e.as_json()} for e in found]

        def save(scans=scans, events=events) -> None:
            if events:
                append_new(con, "article_supply_events", pa.Table.from_pylist(events),
                           ("article_id", "extractor_version", "supplier", "item", "recipient"))
            append_new(con, "supply_event_scans", pa.Table.from_pylist(scans), ("article_id", "extractor_version"))

        in_transaction(con, save)
        summary.articles += len(batch)
        summary.events += len(events)
    return summary
