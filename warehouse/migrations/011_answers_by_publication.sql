-- Analysts' answers that count each story once, on the day it was published.
--
-- v_outlet_coverage ranked outlets with rank(): wire copies published at the same minute all got
-- report_rank = 1, so joins on "the first outlet" multiplied rows (docs/queries.md Q2 gave 30 rows
-- for 17 stories, Q8 had Pacific Times following 17 stories instead of 7). Now exactly one outlet
-- per story has rank 1, by one rule: earliest publication, then earliest first seen, then the
-- outlet whose copy gives the story its headline (v_axis_stories.first_outlet), then outlet name.
-- The new column `delay` tells same-minute copies (0) from outlets that really followed.
CREATE OR REPLACE VIEW v_outlet_coverage AS
WITH per_outlet AS (
    SELECT c.cluster_id, c.outlet, min(c.published_at) AS published_at, min(c.first_seen_at) AS first_seen_at,
           count(*) AS copies,
           coalesce(bool_or(c.kind = 'article' AND c.article_id = s.representative_article_id), false) AS headline_copy
    FROM v_story_copies c LEFT JOIN story_clusters s ON s.id = c.cluster_id
    GROUP BY c.cluster_id, c.outlet
)
SELECT cluster_id, outlet, published_at, first_seen_at, copies,
       row_number() OVER (PARTITION BY cluster_id
                          ORDER BY published_at, first_seen_at, headline_copy DESC, outlet NULLS LAST) AS report_rank,
       published_at - min(published_at) OVER (PARTITION BY cluster_id) AS delay
FROM per_outlet;
COMMENT ON VIEW v_outlet_coverage IS 'Per story and outlet: when the outlet published it, its rank (exactly one outlet per story has rank 1) and its delay behind the first publication';
COMMENT ON COLUMN v_outlet_coverage.published_at IS 'Earliest publication of the story by this outlet (first seen when the source gives none)';
COMMENT ON COLUMN v_outlet_coverage.first_seen_at IS 'When the pipeline first stored a copy from this outlet';
COMMENT ON COLUMN v_outlet_coverage.copies IS 'Copies of the story from this outlet (articles plus exact-duplicate URLs)';
COMMENT ON COLUMN v_outlet_coverage.report_rank IS 'Order of reporting, 1 = first; ties (wire copies published at the same time) broken by earliest first seen, then the outlet of the headline copy (v_axis_stories.first_outlet), then outlet name: one rank 1 per story';
COMMENT ON COLUMN v_outlet_coverage.delay IS 'How long after the story''s first publication this outlet published it (0 for the first outlet and for outlets that published at the same time)';

-- Stories per day counted by publication time (first seen when the source gives none), as UTC
-- days; it was the day the pipeline first stored them, so a week of news stood in one bar.
CREATE OR REPLACE VIEW v_daily_axis_counts AS
WITH pairs AS (
    SELECT CAST(timezone('UTC', coalesce(a.published_at, s.first_seen_at)) AS DATE) AS day, x.cluster_id, x.topics,
           list_filter(x.countries, c -> c IN ('north_korea', 'south_korea')) AS korea_side,
           list_filter(x.countries, c -> c IN ('russia', 'ukraine')) AS war_side
    FROM story_axis x JOIN story_clusters s ON s.id = x.cluster_id
    JOIN articles a ON a.id = s.representative_article_id
), expanded AS (
    SELECT day, cluster_id, k || '–' || w AS country_pair, unnest(CASE WHEN len(topics) = 0 THEN ['(none)'] ELSE topics END) AS topic
    FROM pairs, unnest(korea_side) AS ks(k), unnest(war_side) AS ws(w)
)
SELECT day, country_pair, topic, count(DISTINCT cluster_id) AS stories
FROM expanded GROUP BY ALL;
COMMENT ON VIEW v_daily_axis_counts IS 'Axis stories per UTC day of publication, Korea–Russia/Ukraine country pair and topic: a story counts once in every (pair, topic) it names, so do not sum over pairs or topics to count stories (use v_daily_axis_topics or v_daily_axis_pairs)';
COMMENT ON COLUMN v_daily_axis_counts.day IS 'UTC day the story was published (first seen when the source gives no time)';
COMMENT ON COLUMN v_daily_axis_counts.stories IS 'Axis stories of that day naming this country pair and topic';

-- One row per day and topic: each story counted once per topic it has (a story of two topics
-- counts under both, once each), including axis stories that name no Korea–war country pair.
CREATE VIEW v_daily_axis_topics AS
WITH days AS (
    SELECT CAST(timezone('UTC', coalesce(a.published_at, s.first_seen_at)) AS DATE) AS day, x.cluster_id,
           CASE WHEN len(x.topics) = 0 THEN ['(none)'] ELSE x.topics END AS topics
    FROM story_axis x JOIN story_clusters s ON s.id = x.cluster_id
    JOIN articles a ON a.id = s.representative_article_id
)
SELECT day, topic, count(DISTINCT cluster_id) AS stories
FROM days, unnest(topics) AS u(topic) GROUP BY ALL;
COMMENT ON VIEW v_daily_axis_topics IS 'Axis stories per UTC day of publication and topic, each story once per topic (summing over days gives the stories of a topic)';
COMMENT ON COLUMN v_daily_axis_topics.day IS 'UTC day the story was published (first seen when the source gives no time)';
COMMENT ON COLUMN v_daily_axis_topics.topic IS 'Axis topic, or (none) for an axis story without one';
COMMENT ON COLUMN v_daily_axis_topics.stories IS 'Distinct axis stories of that day with this topic';

-- One row per day and country pair: each story counted once per pair it names.
CREATE VIEW v_daily_axis_pairs AS
WITH pairs AS (
    SELECT CAST(timezone('UTC', coalesce(a.published_at, s.first_seen_at)) AS DATE) AS day, x.cluster_id,
           list_filter(x.countries, c -> c IN ('north_korea', 'south_korea')) AS korea_side,
           list_filter(x.countries, c -> c IN ('russia', 'ukraine')) AS war_side
    FROM story_axis x JOIN story_clusters s ON s.id = x.cluster_id
    JOIN articles a ON a.id = s.representative_article_id
)
SELECT day, k || '–' || w AS country_pair, count(DISTINCT cluster_id) AS stories
FROM pairs, unnest(korea_side) AS ks(k), unnest(war_side) AS ws(w) GROUP BY ALL;
COMMENT ON VIEW v_daily_axis_pairs IS 'Axis stories per UTC day of publication and Korea–Russia/Ukraine country pair, each story once per pair it names (summing over days gives the stories of a pair)';
COMMENT ON COLUMN v_daily_axis_pairs.day IS 'UTC day the story was published (first seen when the source gives no time)';
COMMENT ON COLUMN v_daily_axis_pairs.stories IS 'Distinct axis stories of that day naming this country pair';
