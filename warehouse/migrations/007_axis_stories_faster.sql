-- v_axis_stories, same columns, cheaper: the per-story lists (countries, topics, languages, the
-- matched terms read from each tag's JSON) are built only for stories that have an axis copy,
-- instead of for every story before discarding the non-axis ones (at a million articles that
-- was most of the view's time).
CREATE OR REPLACE VIEW v_axis_stories AS
WITH latest AS (
    SELECT article_id, is_axis, score, countries, topics, matches FROM v_article_tags_latest
), axis_clusters AS (
    SELECT DISTINCT c.cluster_id FROM article_clusters c JOIN latest t ON t.article_id = c.article_id WHERE t.is_axis
), tagged AS (
    SELECT c.cluster_id, a.language, t.is_axis, t.score, t.countries, t.topics, t.matches
    FROM article_clusters c
    SEMI JOIN axis_clusters x ON x.cluster_id = c.cluster_id
    JOIN articles a ON a.id = c.article_id
    JOIN latest t ON t.article_id = c.article_id
), axis AS (
    SELECT cluster_id, max(score) AS score,
           list_sort(list_distinct(flatten(list(countries)))) AS countries,
           list_sort(list_distinct(flatten(list(topics) FILTER (WHERE is_axis)))) AS topics,
           list_sort(list_distinct(list(language) FILTER (WHERE language IS NOT NULL AND language <> ''))) AS languages,
           list_sort(list_distinct(flatten(list(
               list_transform(CAST(matches AS JSON[]), m -> json_extract_string(m, '$.term'))) FILTER (WHERE is_axis)))) AS matched_terms
    FROM tagged GROUP BY cluster_id
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
