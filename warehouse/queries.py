"""Read queries the command line shows (analysts write their own SQL against the views)."""

from __future__ import annotations

from pathlib import Path

from warehouse.db import connect


def newest_axis_stories(db: str | Path, limit: int = 10) -> list[dict]:
    """The newest axis-tagged articles with score, outlet, countries and topics."""
    con = connect(db, read_only=True)
    try:
        cur = con.execute(
            """
            SELECT a.first_seen_at, coalesce(a.published_at, a.first_seen_at) AS published, a.outlet,
                   a.title, a.canonical_url, t.score, t.countries, t.topics,
                   (SELECT count(*) FROM article_duplicates d WHERE d.article_id = a.id) AS copies
            FROM articles a JOIN v_article_tags_latest t ON t.article_id = a.id
            WHERE t.is_axis
            ORDER BY published DESC, t.score DESC
            LIMIT ?
            """,
            [limit],
        )
        columns = [d[0] for d in cur.description]
        return [dict(zip(columns, row)) for row in cur.fetchall()]
    finally:
        con.close()
