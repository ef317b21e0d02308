-- Story-level axis facts kept in a table instead of aggregated from every copy's tags at query
-- time: at a million articles that aggregation was most of v_axis_stories' and
-- v_daily_axis_counts' time (1.0-1.2 s on a lake). Only axis stories have a row. The pipeline
-- rewrites the rows of the stories it touches, in the same transaction as the change: when
-- clustering adds copies (warehouse.clusters) and when tagging writes tags (warehouse.load).

-- The facts of the given stories, from their copies' latest tags (one definition, used by the
-- pipeline's refresh and the backfill below). Stories without an axis copy give no row.
CREATE MACRO story_axis_of(touched, stamp) AS TABLE
WITH members AS (
    SELECT c.cluster_id, c.article_id FROM article_clusters c WHERE c.cluster_id IN (SELECT unnest(touched))
), latest AS (
    SELECT t.article_id, t.is_axis, t.score, t.countries, t.topics, t.matches FROM article_tags t
    SEMI JOIN members m ON m.article_id = t.article_id
    QUALIFY row_number() OVER (PARTITION BY t.article_id ORDER BY t.tagged_at DESC, t.tagger_version DESC) = 1
), tagged AS (
    SELECT m.cluster_id, a.language, l.is_axis, l.score, l.countries, l.topics, l.matches
    FROM members m JOIN latest l ON l.article_id = m.article_id JOIN articles a ON a.id = m.article_id
)
SELECT cluster_id, max(score) AS score,
       list_sort(list_distinct(flatten(list(countries)))) AS countries,
       list_sort(list_distinct(flatten(list(topics) FILTER (WHERE is_axis)))) AS topics,
       list_sort(list_distinct(list(language) FILTER (WHERE language IS NOT NULL AND language <> ''))) AS languages,
       list_sort(list_distinct(flatten(list(
           list_transform(CAST(matches AS JSON[]), m -> json_extract_string(m, '$.term'))) FILTER (WHERE is_axis)))) AS matched_terms,
       CAST(stamp AS TIMESTAMPTZ) AS updated_at
FROM tagged GROUP BY cluster_id HAVING bool_or(is_axis);

CREATE TABLE story_axis (
    cluster_id     VARCHAR PRIMARY KEY,
    score          DOUBLE NOT NULL,  -- highest axis score among the copies
    countries      VARCHAR[] NOT NULL,
    topics         VARCHAR[] NOT NULL,
    languages      VARCHAR[] NOT NULL,
    matched_terms  VARCHAR[] NOT NULL,
    updated_at     TIMESTAMPTZ NOT NULL
);
COMMENT ON TABLE story_axis IS 'Axis facts of each axis story (a cluster with an axis copy), kept current by the pipeline';

INSERT INTO story_axis SELECT * FROM story_axis_of((SELECT list(id) FROM story_clusters), now());

-- Same rows and columns as before (migration 007), read from story_axis.
CREATE OR REPLACE VIEW v_axis_stories AS
SELECT s.id AS cluster_id, s.first_seen_at, s.last_seen_at, s.outlets_count AS outlets, s.member_count AS copies,
       a.title AS headline, a.canonical_url AS url, a.outlet AS first_outlet, a.language,
       x.countries, x.topics, x.score, x.languages, x.matched_terms,
       coalesce(a.published_at, s.first_seen_at) AS published_at
FROM story_axis x
JOIN story_clusters s ON s.id = x.cluster_id
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

-- Same rows as before; needs neither the articles nor the tags any more.
CREATE OR REPLACE VIEW v_daily_axis_counts AS
WITH pairs AS (
    SELECT CAST(s.first_seen_at AS DATE) AS day, x.cluster_id, x.topics,
           list_filter(x.countries, c -> c IN ('north_korea', 'south_korea')) AS korea_side,
           list_filter(x.countries, c -> c IN ('russia', 'ukraine')) AS war_side
    FROM story_axis x JOIN story_clusters s ON s.id = x.cluster_id
), expanded AS (
    SELECT day, cluster_id, k || '–' || w AS country_pair, unnest(CASE WHEN len(topics) = 0 THEN ['(none)'] ELSE topics END) AS topic
    FROM pairs, unnest(korea_side) AS ks(k), unnest(war_side) AS ws(w)
)
SELECT day, country_pair, topic, count(DISTINCT cluster_id) AS stories
FROM expanded GROUP BY ALL;
COMMENT ON VIEW v_daily_axis_counts IS 'Axis stories per day (first seen), Korea–Russia/Ukraine country pair and topic';
