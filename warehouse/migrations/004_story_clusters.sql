-- Which story each article belongs to, with the signatures that placed it there (so a fresh
-- process rebuilds the same near-duplicate index). Never updated once written.
CREATE TABLE article_clusters (
    article_id    VARCHAR PRIMARY KEY,
    cluster_id    VARCHAR NOT NULL,
    story_time    TIMESTAMPTZ,          -- published (or first seen) time used for the window
    lede_sig      UINTEGER[] NOT NULL,  -- MinHash of title + lede
    text_sig      UINTEGER[],           -- MinHash of body shingles, when there is a body
    title_tokens  VARCHAR[],
    assigned_at   TIMESTAMPTZ NOT NULL,
    run_id        VARCHAR
);
CREATE INDEX article_clusters_cluster ON article_clusters (cluster_id);

-- One row per story: its first copy and how widely it was carried.
CREATE TABLE story_clusters (
    id                         VARCHAR PRIMARY KEY,
    first_seen_at              TIMESTAMPTZ NOT NULL,
    last_seen_at               TIMESTAMPTZ NOT NULL,
    representative_article_id  VARCHAR NOT NULL,
    member_count               INTEGER NOT NULL,  -- articles plus their exact-duplicate URLs
    outlets_count              INTEGER NOT NULL,
    updated_at                 TIMESTAMPTZ NOT NULL
);

-- Every copy of a story: clustered articles and the exact-duplicate URLs pointing at them.
CREATE VIEW v_story_copies AS
SELECT c.cluster_id, a.id AS article_id, a.canonical_url AS url, a.outlet, a.title, a.first_seen_at,
       coalesce(a.published_at, a.first_seen_at) AS published_at, 'article' AS kind
FROM article_clusters c JOIN articles a ON a.id = c.article_id
UNION ALL
SELECT c.cluster_id, d.article_id, d.canonical_url, d.outlet, d.title, d.first_seen_at,
       coalesce(a.published_at, d.first_seen_at), 'exact_duplicate'
FROM article_clusters c JOIN article_duplicates d ON d.article_id = c.article_id
JOIN articles a ON a.id = d.article_id;

-- Axis stories at cluster level: one row per story, not per copy.
CREATE VIEW v_axis_stories AS
WITH tagged AS (
    SELECT c.cluster_id, t.is_axis, t.score, t.countries, t.topics
    FROM article_clusters c JOIN v_article_tags_latest t ON t.article_id = c.article_id
), axis AS (
    SELECT cluster_id, max(score) AS score,
           list_sort(list_distinct(flatten(list(countries)))) AS countries,
           list_sort(list_distinct(flatten(list(topics) FILTER (WHERE is_axis)))) AS topics
    FROM tagged GROUP BY cluster_id HAVING bool_or(is_axis)
)
SELECT s.id AS cluster_id, s.first_seen_at, s.last_seen_at, s.outlets_count AS outlets, s.member_count AS copies,
       a.title AS headline, a.canonical_url AS url, a.outlet AS first_outlet, a.language,
       x.countries, x.topics, x.score
FROM story_clusters s
JOIN axis x ON x.cluster_id = s.id
JOIN articles a ON a.id = s.representative_article_id;
