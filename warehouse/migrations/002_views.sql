-- The newest tag of each article (by tagging time), for views that should not care about versions.
CREATE VIEW v_article_tags_latest AS
SELECT * EXCLUDE (rn) FROM (
    SELECT t.*, row_number() OVER (PARTITION BY article_id ORDER BY tagged_at DESC, tagger_version DESC) AS rn
    FROM article_tags t
) WHERE rn = 1;

-- Articles with their latest tags.
CREATE VIEW v_articles AS
SELECT a.id, a.canonical_url, a.outlet, a.feed, a.title, a.language, a.published_at, a.first_seen_at,
       a.fetch_status, t.is_axis, t.score, t.countries, t.topics, t.tagger_version
FROM articles a LEFT JOIN v_article_tags_latest t ON t.article_id = a.id;

-- Feed health at a glance.
CREATE VIEW v_feed_health AS
SELECT f.name, f.outlet, f.url, f.enabled, f.last_fetched_at, f.last_success_at, f.failure_streak,
       (SELECT count(*) FROM articles a WHERE a.feed = f.name) AS articles
FROM feeds f;
