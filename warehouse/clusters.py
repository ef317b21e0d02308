"""Story clusters in the warehouse: which articles still need a story, the stored signatures of
those that have one, and the per-story aggregates analysts read."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import numpy as np
import pyarrow as pa

from ingest.progress import Progress, no_progress
from transform.clusters import (
    ClusterSettings,
    Doc,
    Signature,
    StoryIndex,
    assign,
    cluster_id_for,
    signatures,
)
from transform.event_links import EventDoc, FeatureExtractor, assign_event, event_id_for
from warehouse.db import id_table, in_transaction, registered
from warehouse.late_events import link_late_axis_stories, stored_event_index
from warehouse.rows import TIME

if TYPE_CHECKING:
    from transform.supply_events import SupplyEventExtractor


def unclustered(con: duckdb.DuckDBPyConnection) -> list[Doc]:
    """Articles without a story yet, oldest first (the order that decides who founds a story)."""
    # Narrow columns first: the text of the whole history is read only where new articles are.
    oldest = con.execute(
        "SELECT min(a.first_seen_at) FROM articles a ANTI JOIN article_clusters c ON c.article_id = a.id"
    ).fetchone()[0]
    if oldest is None:
        return []
    rows = con.execute(
        """
        SELECT a.id, coalesce(a.title, ''), coalesce(a.text, ''), coalesce(a.summary, ''), a.canonical_url,
               coalesce(a.published_at, a.first_seen_at) AS t
        FROM articles a ANTI JOIN article_clusters c ON c.article_id = a.id
        WHERE a.first_seen_at >= ?
        ORDER BY t, a.first_seen_at, a.id
        """,
        [oldest],
    ).fetchall()
    return [Doc(id=r[0], title=r[1], text=r[2], summary=r[3], url=r[4], time=r[5]) for r in rows]


def members_between(
    con: duckdb.DuckDBPyConnection, start: datetime, end: datetime
) -> list[tuple[str, str, datetime | None, Signature]]:
    """Stored members (article id, cluster id, time, signature) whose story time is in range."""
    rows = con.execute(
        """
        SELECT c.article_id, c.cluster_id, c.story_time, c.lede_sig, c.text_sig, c.title_tokens, a.canonical_url,
               c.head_key, c.lede_caption
        FROM article_clusters c JOIN articles a ON a.id = c.article_id
        WHERE c.story_time BETWEEN ? AND ? ORDER BY c.story_time, c.article_id
        """,
        [start, end],
    ).fetchall()
    return [
        (
            r[0], r[1], r[2],
            Signature(
                lede=np.asarray(r[3], dtype=np.uint32),
                text=None if r[4] is None else np.asarray(r[4], dtype=np.uint32),
                title_tokens=frozenset(r[5] or ()),
                url=r[6],
                head=r[7] or 0,
                caption=bool(r[8]),
            ),
        )
        for r in rows
    ]


def save_assignments(
    con: duckdb.DuckDBPyConnection,
    assignments: Sequence[tuple[Doc, str, Signature]],
    run_id: str | None,
    now: datetime,
) -> None:
    """Insert article -> story links (never overwriting an existing one) and refresh their stories."""
    if not assignments:
        return
    batch = pa.table({
        "article_id": [d.id for d, _, _ in assignments],
        "cluster_id": [c for _, c, _ in assignments],
        "story_time": pa.array([d.time for d, _, _ in assignments], type=TIME),
        "lede_sig": pa.array([s.lede.tolist() for _, _, s in assignments], type=pa.list_(pa.uint32())),
        "text_sig": pa.array(
            [None if s.text is None else s.text.tolist() for _, _, s in assignments], type=pa.list_(pa.uint32())
        ),
        "title_tokens": [sorted(s.title_tokens) for _, _, s in assignments],
        "head_key": pa.array([s.head or None for _, _, s in assignments], type=pa.int64()),
        "lede_caption": [s.caption for _, _, s in assignments],
        "assigned_at": pa.array([now] * len(assignments), type=TIME),
        "run_id": [run_id] * len(assignments),
    })
    with registered(con, "_assign", batch):
        con.execute(
            "INSERT INTO article_clusters BY NAME SELECT * FROM _assign n"
            " WHERE NOT EXISTS (SELECT 1 FROM article_clusters c WHERE c.article_id = n.article_id)"
        )
    touched = {c for _, c, _ in assignments}
    refresh_stories(con, touched, now)
    refresh_story_axis(con, sorted(touched), now)  # new copies, new tags and languages to fold in


def refresh_stories(con: duckdb.DuckDBPyConnection, cluster_ids: Iterable[str], now: datetime) -> None:
    """Recompute first/last seen, representative, copies and outlets of the given stories (exact
    duplicates count here; their axis facts come from clustered articles only, see
    ``refresh_story_axis``)."""
    with registered(con, "_touched", pa.table({"id": sorted(set(cluster_ids))})):
        con.execute(
            """
            MERGE INTO story_clusters s USING (
            SELECT cluster_id AS id, min(first_seen_at) AS first_seen_at, max(first_seen_at) AS last_seen_at,
                   arg_min(article_id, (published_at, first_seen_at, cluster_id <> 's-' || article_id, article_id))
                       FILTER (WHERE kind = 'article')
                       AS representative_article_id,
                   count(*) AS member_count, count(DISTINCT outlet) AS outlets_count, ? AS updated_at
            FROM v_story_copies WHERE cluster_id IN (SELECT id FROM _touched)
            GROUP BY cluster_id) n ON s.id = n.id
            WHEN MATCHED THEN UPDATE SET first_seen_at = n.first_seen_at, last_seen_at = n.last_seen_at,
                representative_article_id = n.representative_article_id, member_count = n.member_count,
                outlets_count = n.outlets_count, updated_at = n.updated_at
            WHEN NOT MATCHED THEN INSERT BY NAME
            """,
            [now],
        )


def refresh_story_axis(con: duckdb.DuckDBPyConnection, cluster_ids: Sequence[str], now: datetime) -> None:
    """Rewrite the ``story_axis`` rows of the given stories from their copies' latest tags (the
    rule is the ``story_axis_of`` macro of migration 008); a story with no axis copy left loses
    its row."""
    if not cluster_ids:
        return
    with registered(con, "_axis_ids", id_table(cluster_ids)):
        con.execute("DELETE FROM story_axis WHERE cluster_id IN (SELECT id FROM _axis_ids)")
        con.execute("INSERT INTO story_axis SELECT * FROM story_axis_of((SELECT list(id) FROM _axis_ids), ?)", [now])


def stories_of_articles(con: duckdb.DuckDBPyConnection, article_ids: Sequence[str]) -> list[str]:
    """The stories the given articles belong to (articles not clustered yet have none)."""
    with registered(con, "_members", pa.table({"id": list(article_ids)})):
        rows = con.execute(
            "SELECT DISTINCT cluster_id FROM article_clusters WHERE article_id IN (SELECT id FROM _members)"
        ).fetchall()
    return [r[0] for r in rows]


def stories_of_duplicates(con: duckdb.DuckDBPyConnection, run_id: str) -> set[str]:
    """Stories that gained exact-duplicate URLs in a run (their counts need a refresh)."""
    rows = con.execute(
        "SELECT DISTINCT c.cluster_id FROM article_duplicates d JOIN article_clusters c ON c.article_id = d.article_id"
        " WHERE d.run_id = ?",
        [run_id],
    ).fetchall()
    return {r[0] for r in rows}


def window_bounds(docs: Sequence[Doc], days: float) -> tuple[datetime, datetime] | None:
    times = [d.time for d in docs if d.time is not None]
    if not times:
        return None
    return min(times) - timedelta(days=days), max(times) + timedelta(days=days)


def unlinked_stories(con: duckdb.DuckDBPyConnection, cluster_ids: Sequence[str]) -> list[tuple[EventDoc, bool]]:
    """The given stories that have no event yet, oldest first, each with its founding copy's
    headline and lede and whether it is an axis story (only those are compared; any other is its
    own event)."""
    if not cluster_ids:
        return []
    with registered(con, "_unlinked_ids", id_table(cluster_ids)):
        rows = con.execute(
            """
            SELECT s.id, coalesce(a.title, ''), coalesce(nullif(a.summary, ''), left(coalesce(a.text, ''), 600)),
                   coalesce(a.published_at, s.first_seen_at) AS t, coalesce(a.language, ''), coalesce(a.outlet, ''),
                   x.cluster_id IS NOT NULL
            FROM story_clusters s ANTI JOIN story_events e ON e.cluster_id = s.id
            LEFT JOIN articles a ON a.id = substr(s.id, 3)
            LEFT JOIN story_axis x ON x.cluster_id = s.id
            WHERE s.id IN (SELECT id FROM _unlinked_ids)
            ORDER BY t, s.id
            """).fetchall()
    return [(EventDoc(r[0], r[1], r[2], r[3], r[4], r[5]), r[6]) for r in rows]


def link_story_events(
    con: duckdb.DuckDBPyConnection, cluster_ids: Sequence[str], settings: ClusterSettings, run_id: str | None,
    now: datetime, topics_file: str | Path | None = None,
) -> int:
    """Give the given stories (those a cluster step founded) an event: axis stories join the
    event of a similar story in any language published within ``event_hours`` or found their own;
    other stories are their own event. The index is rebuilt from the stored features, so a fresh
    process agrees; stories that already have an event keep it. Returns how many stories were
    linked to an event another story founded."""
    stories = unlinked_stories(con, cluster_ids)
    if not stories:
        return 0
    extractor = None
    index = stored_event_index(con, settings, [d.time for d, _ in stories])
    rows = []
    joined = 0
    for doc, axis in stories:
        if not axis:
            rows.append((doc.id, event_id_for(doc.id), doc.time, []))
            continue
        if extractor is None:
            extractor = FeatureExtractor.from_file(topics_file)
        features = extractor.features(doc.title, doc.lede)
        event = assign_event(index, doc, features)
        joined += event != event_id_for(doc.id)
        rows.append((doc.id, event, doc.time, sorted(features.keys)))
    batch = pa.table({
        "cluster_id": [r[0] for r in rows], "event_id": [r[1] for r in rows],
        "story_time": pa.array([r[2] for r in rows], type=TIME),
        "features": pa.array([r[3] for r in rows], type=pa.list_(pa.string())),
        "assigned_at": pa.array([now] * len(rows), type=TIME), "run_id": [run_id] * len(rows),
    })
    with registered(con, "_events", batch):
        con.execute(
            "INSERT INTO story_events BY NAME SELECT * FROM _events n"
            " WHERE NOT EXISTS (SELECT 1 FROM story_events e WHERE e.cluster_id = n.cluster_id)"
        )
    return joined


@dataclass
class ClusterSummary:
    articles: int = 0
    stories_new: int = 0
    joined: int = 0
    axis_stories_new: int = 0
    events_joined: int = 0  # new stories, and stories that became axis stories, linked to an event another story (in any language) founded


def _signatures(docs: list[Doc], settings: ClusterSettings, presigned: Mapping[str, Signature]) -> list[Signature]:
    """Each doc's signature: the one made already, else made now (on every core if many)."""
    missing = [d for d in docs if d.id not in presigned]
    made = dict(zip((d.id for d in missing), signatures(missing, settings))) if missing else {}
    return [presigned[d.id] if d.id in presigned else made[d.id] for d in docs]


def cluster_unclustered(
    con: duckdb.DuckDBPyConnection, settings: ClusterSettings | None = None, run_id: str | None = None,
    progress: Progress = no_progress, topics_file: str | Path | None = None,
    supply_events: tuple[SupplyEventExtractor, Mapping] | None = None,
    presigned: Mapping[str, Signature] | None = None,
) -> ClusterSummary:
    """Give every article without a story one: join a near-duplicate's story or found a new one.

    The index is rebuilt from the signatures stored for articles in the window, so a fresh
    process (or an Airflow worker on another machine) reaches the same answer. ``supply_events``
    (an extractor and the events it read already, by article id) reads the axis stories' copies
    for supply events; by default the shipped patterns read them all here. ``presigned``: story
    signatures made already (where the pages were extracted), by article id; the others are
    made here."""
    settings = settings or ClusterSettings()
    docs = unclustered(con)
    index = StoryIndex(settings)
    bounds = window_bounds(docs, settings.window_days)
    if bounds:
        for member_id, cluster_id, time, sig in members_between(con, *bounds):
            index.add(member_id, cluster_id, time, sig)
    progress("clusters", 0, len(docs))
    assignments = []
    for n, (doc, sig) in enumerate(zip(docs, _signatures(docs, settings, presigned or {})), 1):
        assignments.append((doc, assign(index, doc, sig), sig))
        if n % 500 == 0:
            progress("clusters", n, len(docs))
    progress("clusters", len(docs), len(docs))
    now = datetime.now(UTC)

    def save() -> None:
        save_assignments(con, assignments, run_id, now)
        if run_id:
            refresh_stories(con, stories_of_duplicates(con, run_id), now)
        summary.events_joined = link_story_events(con, sorted(founded), settings, run_id, now, topics_file)
        summary.events_joined += link_late_axis_stories(con, settings, run_id, now, topics_file)

    summary = ClusterSummary()
    founded = {c for d, c, _ in assignments if c == cluster_id_for(d.id)}
    in_transaction(con, save)
    # Copies of axis stories are read for supply events once their stories are known (v_axis_events).
    from warehouse.supply_events import extract_stored  # imports warehouse.load, which imports this module

    extractor, preread = supply_events or (None, None)
    extract_stored(con, extractor, preread=preread)
    summary.articles, summary.stories_new, summary.joined = len(assignments), len(founded), len(assignments) - len(founded)
    if founded:
        with registered(con, "_founded", id_table(founded)):
            summary.axis_stories_new = con.execute(
                "SELECT count(*) FROM v_axis_stories WHERE cluster_id IN (SELECT id FROM _founded)").fetchone()[0]
    return summary
