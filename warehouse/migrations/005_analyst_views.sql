-- Analyst views: stable names, clear columns, comments that DuckDB shows (duckdb_views(), duckdb_columns()).

-- Axis stories at cluster level, now with last seen, languages and the terms that made them axis.
CREATE OR REPLACE VIEW v_axis_stories AS
WITH tagged AS (
    SELECT c.cluster_id, a.language, t.is_axis, t.score, t.countries, t.topics, t.matches
    FROM article_clusters c
    JOIN articles a ON a.id = c.article_id
    JOIN v_article_tags_latest t ON t.article_id = c.article_id
), axis AS (
    SELECT cluster_id, max(score) AS score,
           list_sort(list_distinct(flatten(list(countries)))) AS countries,
           list_sort(list_distinct(flatten(list(topics) FILTER (WHERE is_axis)))) AS topics,
           list_sort(list_distinct(list(language) FILTER (WHERE language IS NOT NULL AND language <> ''))) AS languages,
           list_sort(list_distinct(flatten(list(
               list_transform(CAST(matches AS JSON[]), m -> json_extract_string(m, '$.term'))) FILTER (WHERE is_axis)))) AS matched_terms
    FROM tagged GROUP BY cluster_id HAVING bool_or(is_axis)
)
SELECT s.id AS cluster_id, s.first_seen_at, s.last_seen_at, s.outlets_count AS outlets, s.member_count AS copies,
       a.title AS headline, a.canonical_url AS url, a.outlet AS first_outlet, a.language,
       x.countries, x.topics, x.score, x.languages, x.matched_terms,
       coalesce(a.published_at, s.first_seen_at) AS published_at
FROM story_clusters s
JOIN axis x ON x.cluster_id = s.id
JOIN articles a ON a.id = s.representative_article_id;

COMMENT ON VIEW v_axis_stories IS 'One row per axis story (a cluster of copies across outlets), with the why of its tags';
COMMENT ON COLUMN v_axis_stories.cluster_id IS 'Stable story id (never renumbered)';
COMMENT ON COLUMN v_axis_stories.first_seen_at IS 'When the pipeline first stored a copy';
COMMENT ON COLUMN v_axis_stories.last_seen_at IS 'When the pipeline last stored a copy';
COMMENT ON COLUMN v_axis_stories.outlets IS 'Distinct outlets that carried the story';
COMMENT ON COLUMN v_axis_stories.copies IS 'Stored copies: articles plus exact-duplicate URLs';
COMMENT ON COLUMN v_axis_stories.headline IS 'Headline of the earliest copy';
COMMENT ON COLUMN v_axis_stories.url IS 'Canonical link of the earliest copy';
COMMENT ON COLUMN v_axis_stories.countries IS 'Countries named in any copy';
COMMENT ON COLUMN v_axis_stories.topics IS 'Axis topics of the copies tagged axis';
COMMENT ON COLUMN v_axis_stories.score IS 'Highest axis score among copies (0..1)';
COMMENT ON COLUMN v_axis_stories.languages IS 'Languages of the copies';
COMMENT ON COLUMN v_axis_stories.matched_terms IS 'Terms that matched in the copies tagged axis';
COMMENT ON COLUMN v_axis_stories.published_at IS 'Publication time of the earliest copy (first seen when unknown)';

COMMENT ON VIEW v_articles IS 'Every stored article (one per distinct copy) with its latest tags';
COMMENT ON VIEW v_axis_articles IS 'Axis articles with matched terms (term, concept, zone, count) and tagger version';
COMMENT ON VIEW v_story_copies IS 'Every copy of every story: clustered articles and exact-duplicate URLs';

-- Daily axis stories by country pair (Korea side – war side) and topic.
CREATE VIEW v_daily_axis_counts AS
WITH pairs AS (
    SELECT CAST(s.first_seen_at AS DATE) AS day, s.cluster_id, s.topics,
           list_filter(s.countries, c -> c IN ('north_korea', 'south_korea')) AS korea_side,
           list_filter(s.countries, c -> c IN ('russia', 'ukraine')) AS war_side
    FROM v_axis_stories s
), expanded AS (
    SELECT day, cluster_id, k || '–' || w AS country_pair, unnest(CASE WHEN len(topics) = 0 THEN ['(none)'] ELSE topics END) AS topic
    FROM pairs, unnest(korea_side) AS ks(k), unnest(war_side) AS ws(w)
)
SELECT day, country_pair, topic, count(DISTINCT cluster_id) AS stories
FROM expanded GROUP BY ALL;
COMMENT ON VIEW v_daily_axis_counts IS 'Axis stories per day (first seen), Korea–Russia/Ukraine country pair and topic';

-- Who reported what, and in which order.
CREATE VIEW v_outlet_coverage AS
SELECT cluster_id, outlet, min(published_at) AS published_at, min(first_seen_at) AS first_seen_at,
       count(*) AS copies,
       rank() OVER (PARTITION BY cluster_id ORDER BY min(published_at), min(first_seen_at)) AS report_rank
FROM v_story_copies GROUP BY cluster_id, outlet;
COMMENT ON VIEW v_outlet_coverage IS 'Per story and outlet: when the outlet published it and its rank (1 = first to report)';

-- Feed health: last success, failure streak, and entries per night over the last 7 fetches.
CREATE OR REPLACE VIEW v_feed_health AS
WITH recent AS (
    SELECT feed, entries, status, row_number() OVER (PARTITION BY feed ORDER BY fetched_at DESC) AS n
    FROM feed_fetches
)
SELECT f.name, f.outlet, f.url, f.enabled, f.last_fetched_at, f.last_success_at, f.failure_streak,
       (SELECT count(*) FROM articles a WHERE a.feed = f.name) AS articles,
       (SELECT avg(entries) FROM recent r WHERE r.feed = f.name AND r.n <= 7 AND r.status = 'ok') AS entries_per_night,
       (SELECT count(*) FROM recent r WHERE r.feed = f.name AND r.n <= 7 AND r.status = 'error') AS failures_last_7
FROM feeds f;
COMMENT ON VIEW v_feed_health IS 'Per feed: last success, failures in a row, entries per night (last 7 fetches that parsed)';
COMMENT ON COLUMN v_feed_health.failure_streak IS 'Runs in a row that failed (0 = last fetch worked)';
