"""Read queries the command line shows (analysts write their own SQL against the views)."""

from __future__ import annotations

from pathlib import Path

from warehouse.db import fetch_dicts
from warehouse.snapshot import open_snapshot


def newest_axis_stories(db: str | Path, limit: int = 10) -> list[dict]:
    """The newest axis stories (clusters, not copies) with outlets, countries and topics."""
    con = open_snapshot(db)
    try:
        cur = con.execute(
            """
            SELECT s.cluster_id, s.first_seen_at, coalesce(a.published_at, s.first_seen_at) AS published,
                   s.outlets, s.copies, s.headline AS title, s.url, s.first_outlet AS outlet, s.score,
                   s.countries, s.topics
            FROM v_axis_stories s JOIN articles a ON a.canonical_url = s.url
            ORDER BY published DESC, s.score DESC
            LIMIT ?
            """,
            [limit],
        )
        return fetch_dicts(cur)
    finally:
        con.close()
