"""History for the growth benchmark: fill a warehouse with N past articles, as a year of nights
would have left it (tags by the current tagger, stories with stored signatures, exact-duplicate
URLs, one feed fetch per feed and night, run rows), generated inside DuckDB in bulk.

The rows are synthetic but sized like real ones (400-word texts, 128-value signatures), so the
queries of a night (known URLs and hashes, untagged and unclustered articles, the clustering
window, views behind the report, the search index, the snapshot copy) meet a realistic table.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from warehouse.db import open_warehouse
from warehouse.search import refresh_index


def populate(db: Path | str, articles: int, tagger_version: str, end: datetime, days: int = 365,
             feeds: int = 500, words: int = 400, batch: int = 100_000, index: bool = True) -> None:
    """Add ``articles`` history rows spread evenly over ``days`` days before ``end`` (and build
    the search index over them, as the maintenance DAG would have, unless ``index`` is False)."""
    con = open_warehouse(db)
    try:
        step = days * 86400 / max(1, articles)
        for start in range(0, articles, batch):
            stop = min(articles, start + batch)
            params = {"start": start, "stop": stop, "end": end, "step": step, "feeds": feeds,
                      "version": tagger_version, "words": words}
            con.execute("BEGIN")
            for statement in (_ARTICLES, _TAGS, _CLUSTERS, _DUPLICATES):
                _execute(con, statement, params)
            con.execute("COMMIT")
        con.execute(_STORIES)
        con.execute(_STORY_AXIS, {"end": end})
        for statement in (_RUNS, _FETCHES):
            _execute(con, statement, {"nights": max(1, days), "end": end, "feeds": feeds})
        if index:
            refresh_index(con, full=True)  # as the maintenance DAG leaves it
        con.execute("CHECKPOINT")
    finally:
        con.close()


def _execute(con, statement: str, params: dict) -> None:
    """DuckDB wants exactly the named parameters a statement uses."""
    con.execute(statement, {k: v for k, v in params.items() if f"${k}" in statement})


# A word of the synthetic vocabulary: letters only (the search index drops digits and one-letter
# tokens, so "w123" would index as nothing), drawn with Zipf's law over VOCABULARY ranks (rank k
# about 1/k as frequent, as in real text): a few words are in nearly every article, most are rare.
VOCABULARY = 20_000


def word_sql(salt: int) -> str:
    """SQL for the x-th word of article i: rank floor(VOCABULARY ** u), u uniform from a hash,
    spelled as 'q' plus three letters (base 26)."""
    rank = f"CAST(floor(pow({VOCABULARY}, (hash(i, x, {salt}) % 1000003) / 1000003.0)) AS BIGINT)"
    return (f"('q' || chr(CAST(97 + {rank} % 26 AS INTEGER)) || chr(CAST(97 + ({rank} // 26) % 26 AS INTEGER))"
            f" || chr(CAST(97 + ({rank} // 676) % 26 AS INTEGER)))")


def word(rank: int) -> str:
    """The word of a given frequency rank (1 = most frequent), as the generator spells it."""
    return "q" + chr(97 + rank % 26) + chr(97 + (rank // 26) % 26) + chr(97 + (rank // 676) % 26)


_ARTICLES = """
INSERT INTO articles BY NAME
SELECT 'h' || i AS id,
       'https://history' || (i % 200) || '.example/story/' || i AS canonical_url,
       'https://history' || (i % 200) || '.example/story/' || i AS url,
       'history-' || (i % $feeds) AS feed, 'History outlet ' || (i % 200) AS outlet,
       'History story ' || i || ' ' || array_to_string(list_transform(range(8), x -> __WORD1__), ' ') AS title,
       NULL AS summary,
       array_to_string(list_transform(range($words), x -> __WORD0__), ' ') AS text,
       'en' AS language, NULL AS author,
       $end::TIMESTAMPTZ - to_seconds(CAST((i + 1) * $step AS BIGINT)) AS published_at,
       $end::TIMESTAMPTZ - to_seconds(CAST((i + 1) * $step AS BIGINT)) AS first_seen_at,
       md5('h' || i) AS content_hash, 'ok' AS fetch_status, NULL AS fetch_error, 200 AS http_status,
       'history' AS run_id, NULL AS guid, '{}' AS raw_entry
FROM range($start, $stop) t(i)
""".replace("__WORD0__", word_sql(0)).replace("__WORD1__", word_sql(1))

_TAGS = """
INSERT INTO article_tags BY NAME
SELECT 'h' || i AS article_id, $version AS tagger_version, i % 10 = 0 AS is_axis,
       CASE WHEN i % 10 = 0 THEN 3.0 ELSE 0.0 END AS score,
       CASE WHEN i % 10 = 0 THEN ['KP', 'RU'] ELSE [] END AS countries,
       CASE WHEN i % 10 = 0 THEN ['troops'] ELSE [] END AS topics, '[]' AS matches,
       $end::TIMESTAMPTZ - to_seconds(CAST((i + 1) * $step AS BIGINT)) AS tagged_at
FROM range($start, $stop) t(i)
"""

# Every fifth article is a copy of the one before it (the story of the even-numbered founder).
_CLUSTERS = """
INSERT INTO article_clusters BY NAME
SELECT 'h' || i AS article_id,
       's-h' || CASE WHEN i % 5 = 4 THEN i - 1 ELSE i END AS cluster_id,
       $end::TIMESTAMPTZ - to_seconds(CAST((i + 1) * $step AS BIGINT)) AS story_time,
       list_transform(range(128), x -> (hash(i, x, 2) % 4294967296)::UINTEGER) AS lede_sig,
       list_transform(range(128), x -> (hash(i, x, 3) % 4294967296)::UINTEGER) AS text_sig,
       ['history', 'story', CAST(i AS VARCHAR)] AS title_tokens,
       $end::TIMESTAMPTZ - to_seconds(CAST((i + 1) * $step AS BIGINT)) AS assigned_at,
       'history' AS run_id
FROM range($start, $stop) t(i)
"""

_DUPLICATES = """
INSERT INTO article_duplicates BY NAME
SELECT 'https://mirror' || (i % 50) || '.example/copy/' || i AS canonical_url, 'h' || i AS article_id,
       'https://mirror' || (i % 50) || '.example/copy/' || i AS url, 'history-' || (i % $feeds) AS feed,
       'Mirror ' || (i % 50) AS outlet, 'History story ' || i AS title, 'content_hash' AS reason,
       $end::TIMESTAMPTZ - to_seconds(CAST((i + 1) * $step AS BIGINT)) AS first_seen_at, 'history' AS run_id
FROM range($start, $stop) t(i) WHERE i % 20 = 0
"""

_STORIES = """
INSERT INTO story_clusters BY NAME
SELECT cluster_id AS id, min(story_time) AS first_seen_at, max(story_time) AS last_seen_at,
       min(article_id) AS representative_article_id, count(*) AS member_count,
       count(*) AS outlets_count, max(assigned_at) AS updated_at
FROM article_clusters WHERE run_id = 'history' GROUP BY cluster_id
"""

_STORY_AXIS = """
INSERT INTO story_axis SELECT * FROM story_axis_of(
    (SELECT list(DISTINCT cluster_id) FROM article_clusters WHERE run_id = 'history'), $end)
"""

_RUNS = """
INSERT INTO pipeline_runs BY NAME
SELECT 'history-' || n AS run_id, $end::TIMESTAMPTZ - to_days(CAST(n + 1 AS INTEGER)) AS started_at,
       $end::TIMESTAMPTZ - to_days(CAST(n + 1 AS INTEGER)) AS finished_at, 'success' AS status,
       $feeds AS feeds_ok, 0 AS feeds_failed, 0 AS entries_seen, 0 AS articles_new, 0 AS duplicates,
       0 AS axis_new, '[]' AS errors
FROM range($nights) t(n)
"""

_FETCHES = """
INSERT INTO feed_fetches BY NAME
SELECT 'history-' || n AS run_id, 'history-' || f AS feed, 'https://history.example/feed/' || f AS url,
       $end::TIMESTAMPTZ - to_days(CAST(n + 1 AS INTEGER)) AS fetched_at, 'ok' AS status, 200 AS http_status,
       40000 AS bytes, 300 AS duration_ms, 50 AS entries, 'rss20' AS feed_format, NULL AS error_kind,
       NULL AS error
FROM range($nights) t(n), range($feeds) u(f)
"""


def main(argv: list[str] | None = None) -> None:
    """python -m benchmarks.history DB ARTICLES TAGGER_VERSION END_ISO (in its own process, so the
    generation's memory is not counted against the night that follows)."""
    import sys

    db, articles, version, end = (argv or sys.argv[1:])[:4]
    populate(db, int(articles), version, datetime.fromisoformat(end))


if __name__ == "__main__":
    main()
