"""Stories that become axis stories after their cluster step still get linked to their event.

A cluster step links only the stories it founds, and a story that is not an axis story then is
its own event, stored without features. When a copy that joins later, or new tags, make it an
axis story, its ``story_axis`` row is rewritten after that event row: the next cluster step finds
it here and links it as its own step would have.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from transform.event_links import EventDoc, EventFeatures, EventIndex, FeatureExtractor, assign_event, event_id_for
from transform.settings import ClusterSettings
from warehouse.db import registered


def stored_event_index(con: duckdb.DuckDBPyConnection, settings: ClusterSettings, times: Sequence[datetime | None]) -> EventIndex:
    """The linked stories published within ``event_hours`` of the given times, from their stored
    features (a fresh process agrees with the one that linked them)."""
    index = EventIndex(settings)
    times = [t for t in times if t is not None]
    if times:
        margin = timedelta(hours=settings.event_hours)
        for cluster_id, event_id, time, features in con.execute(
            "SELECT cluster_id, event_id, story_time, features FROM story_events"
            " WHERE story_time BETWEEN ? AND ? AND len(features) > 0 ORDER BY story_time, cluster_id",
            [min(times) - margin, max(times) + margin],
        ).fetchall():
            index.add(cluster_id, event_id, time, EventFeatures(frozenset(features)))
    return index


def late_axis_stories(con: duckdb.DuckDBPyConnection) -> list[EventDoc]:
    """Stories that were not axis stories when a cluster step gave them their own event (no
    features) and have become axis stories since (a copy that joined later, or new tags, rewrote
    their ``story_axis`` row after the event row was written), oldest first. Stories clustered
    before events existed have no row and are not picked: the history is not backfilled."""
    rows = con.execute(
        """
        SELECT e.cluster_id, coalesce(a.title, ''), coalesce(nullif(a.summary, ''), left(coalesce(a.text, ''), 600)),
               e.story_time, coalesce(a.language, ''), coalesce(a.outlet, '')
        FROM story_events e JOIN story_axis x ON x.cluster_id = e.cluster_id
        LEFT JOIN articles a ON a.id = substr(e.cluster_id, 3)
        WHERE len(e.features) = 0 AND e.event_id = 'e-' || substr(e.cluster_id, 3) AND x.updated_at > e.assigned_at
        ORDER BY e.story_time, e.cluster_id
        """
    ).fetchall()
    return [EventDoc(*r) for r in rows]


def link_late_axis_stories(
    con: duckdb.DuckDBPyConnection, settings: ClusterSettings, run_id: str | None, now: datetime,
    topics_file: str | Path | None = None,
) -> int:
    """Link the stories that became axis stories after their cluster step (``late_axis_stories``)
    as that step would have: join a similar story's event or keep their own. Only their own
    placeholder event changes (no other story could have joined it: it had no features). Returns
    how many joined an event another story founded."""
    docs = late_axis_stories(con)
    if not docs:
        return 0
    extractor = FeatureExtractor.from_file(topics_file)
    index = stored_event_index(con, settings, [d.time for d in docs])
    rows = []
    for doc in docs:
        features = extractor.features(doc.title, doc.lede)
        rows.append((doc.id, assign_event(index, doc, features), sorted(features.keys)))
    batch = pa.table({
        "cluster_id": [r[0] for r in rows], "event_id": [r[1] for r in rows],
        "features": pa.array([r[2] for r in rows], type=pa.list_(pa.string())),
    })
    with registered(con, "_late", batch):
        con.execute(
            "UPDATE story_events SET event_id = n.event_id, features = n.features, assigned_at = $now, run_id = $run"
            " FROM _late n WHERE story_events.cluster_id = n.cluster_id",
            {"now": now, "run": run_id},
        )
    return sum(event != event_id_for(story) for story, event, _ in rows)
