-- Axis articles with the why of each tag (latest tagger version per article).
CREATE VIEW v_axis_articles AS
SELECT a.id AS article_id, a.first_seen_at, a.published_at, a.outlet, a.language, a.title, a.canonical_url,
       t.score, t.countries, t.topics, t.matches, t.tagger_version
FROM articles a JOIN v_article_tags_latest t ON t.article_id = a.id
WHERE t.is_axis;

-- How two tagger versions disagree, for comparing a rule change before trusting it.
CREATE MACRO tag_changes(old_version, new_version) AS TABLE
SELECT a.id AS article_id, a.title, o.is_axis AS old_is_axis, n.is_axis AS new_is_axis,
       o.score AS old_score, n.score AS new_score
FROM articles a
JOIN article_tags o ON o.article_id = a.id AND o.tagger_version = old_version
JOIN article_tags n ON n.article_id = a.id AND n.tagger_version = new_version
WHERE o.is_axis <> n.is_axis;
