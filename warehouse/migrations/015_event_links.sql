-- Story clusters keep two more facts of each article's signatures: the key of its headline and
-- first lede sentence (copies with the same key join across hosts) and whether its lede is a
-- photo caption (a caption alone joins nothing). NULL for articles clustered before: they keep
-- the rules they were clustered by.
ALTER TABLE article_clusters ADD COLUMN head_key BIGINT;
ALTER TABLE article_clusters ADD COLUMN lede_caption BOOLEAN;

-- One event across languages (transform/event_links.py): the event of each story the cluster step
-- founded since, written once and never revised, so event ids are as stable as cluster ids. Axis
-- stories are linked by their features (actors, numbers, topics, countries), kept so a fresh
-- process rebuilds the same index; any other story is its own event with no features. A story
-- without a row (one stored before this migration) is its own event, 'e-' and its founding article.
CREATE TABLE story_events (
    cluster_id   VARCHAR PRIMARY KEY,
    event_id     VARCHAR NOT NULL,
    story_time   TIMESTAMPTZ,          -- publication (or first seen) time of the story's founding copy
    features     VARCHAR[] NOT NULL,   -- a:<actor>, n:<number>, t:<topic>, c:<country>
    assigned_at  TIMESTAMPTZ NOT NULL,
    run_id       VARCHAR
);
CREATE INDEX story_events_event ON story_events (event_id);
COMMENT ON TABLE story_events IS 'The event (one happening reported in any language) of each story; never revised';

-- One row per event with at least one axis story: its stories in every language, together.
CREATE VIEW v_axis_events_xl AS
WITH axis_story_events AS (
    SELECT x.cluster_id, coalesce(e.event_id, 'e-' || substr(x.cluster_id, 3)) AS event_id
    FROM story_axis x LEFT JOIN story_events e ON e.cluster_id = x.cluster_id
), members AS (
    SELECT e.cluster_id, e.event_id FROM story_events e SEMI JOIN axis_story_events a ON a.event_id = e.event_id
    UNION
    SELECT cluster_id, event_id FROM axis_story_events
), stories AS (
    SELECT m.event_id, m.cluster_id, s.first_seen_at, coalesce(a.published_at, s.first_seen_at) AS published_at,
           a.title, a.canonical_url, x.cluster_id IS NOT NULL AS is_axis
    FROM members m
    JOIN story_clusters s ON s.id = m.cluster_id
    JOIN articles a ON a.id = s.representative_article_id
    LEFT JOIN story_axis x ON x.cluster_id = m.cluster_id
), copies AS (  -- v_story_copies' rows, read directly: the view's union cost most of the time
    SELECT m.event_id, a.outlet, a.language
    FROM members m JOIN article_clusters c ON c.cluster_id = m.cluster_id JOIN articles a ON a.id = c.article_id
    UNION ALL
    SELECT m.event_id, d.outlet, NULL  -- an exact duplicate has its original's language
    FROM members m JOIN article_clusters c ON c.cluster_id = m.cluster_id JOIN article_duplicates d ON d.article_id = c.article_id
), per_event AS (
    SELECT event_id,
           list_sort(list_distinct(list(language) FILTER (WHERE language IS NOT NULL AND language <> ''))) AS languages,
           list_sort(list_distinct(list(outlet) FILTER (WHERE outlet IS NOT NULL AND outlet <> ''))) AS outlets,
           count(*) AS copies
    FROM copies GROUP BY event_id
)
SELECT st.event_id, count(*) AS stories, count(*) FILTER (WHERE st.is_axis) AS axis_stories,
       min(st.published_at) AS published_at, min(st.first_seen_at) AS first_seen_at,
       arg_min(st.title, (st.published_at, st.cluster_id)) AS headline,
       arg_min(st.canonical_url, (st.published_at, st.cluster_id)) AS url,
       any_value(p.languages) AS languages, any_value(p.outlets) AS outlets, any_value(p.copies) AS copies,
       list_sort(list(st.cluster_id)) AS cluster_ids
FROM stories st JOIN per_event p USING (event_id)
GROUP BY st.event_id;

COMMENT ON VIEW v_axis_events_xl IS 'One row per event with an axis story: the stories that report one happening, across languages and outlets';
COMMENT ON COLUMN v_axis_events_xl.event_id IS 'Stable event id (never renumbered): e- and the founding article id';
COMMENT ON COLUMN v_axis_events_xl.stories IS 'Stories (clusters of copies) linked to the event';
COMMENT ON COLUMN v_axis_events_xl.axis_stories IS 'Of those, the axis stories';
COMMENT ON COLUMN v_axis_events_xl.published_at IS 'Publication time of the earliest story (first seen when unknown)';
COMMENT ON COLUMN v_axis_events_xl.first_seen_at IS 'When the pipeline first stored a copy of any of its stories';
COMMENT ON COLUMN v_axis_events_xl.headline IS 'Headline of the earliest story';
COMMENT ON COLUMN v_axis_events_xl.url IS 'Link of the earliest story';
COMMENT ON COLUMN v_axis_events_xl.languages IS 'Languages of all copies of all its stories';
COMMENT ON COLUMN v_axis_events_xl.outlets IS 'Outlets that carried any of its stories';
COMMENT ON COLUMN v_axis_events_xl.copies IS 'Stored copies of all its stories: articles plus exact-duplicate URLs';
COMMENT ON COLUMN v_axis_events_xl.cluster_ids IS 'Its stories';

-- The same rows and columns as before (migration 008), plus the story's event.
CREATE OR REPLACE VIEW v_axis_stories AS
SELECT s.id AS cluster_id, s.first_seen_at, s.last_seen_at, s.outlets_count AS outlets, s.member_count AS copies,
       a.title AS headline, a.canonical_url AS url, a.outlet AS first_outlet, a.language,
       x.countries, x.topics, x.score, x.languages, x.matched_terms,
       coalesce(a.published_at, s.first_seen_at) AS published_at,
       coalesce(e.event_id, 'e-' || substr(x.cluster_id, 3)) AS event_id,
       ev.languages AS event_languages, ev.outlets AS event_outlets
FROM story_axis x
JOIN story_clusters s ON s.id = x.cluster_id
JOIN articles a ON a.id = s.representative_article_id
LEFT JOIN story_events e ON e.cluster_id = x.cluster_id
LEFT JOIN v_axis_events_xl ev ON ev.event_id = coalesce(e.event_id, 'e-' || substr(x.cluster_id, 3));

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
COMMENT ON COLUMN v_axis_stories.event_id IS 'The event the story reports (v_axis_events_xl): stories in other languages and outlets share it';
COMMENT ON COLUMN v_axis_stories.event_languages IS 'Languages of every story of the event';
COMMENT ON COLUMN v_axis_stories.event_outlets IS 'Outlets of every story of the event';
