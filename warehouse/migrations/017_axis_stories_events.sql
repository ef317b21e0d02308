-- v_axis_stories without aggregating every event of the warehouse: an event's languages and outlets
-- are its one story's (read from the copies of axis stories this view reads anyway for who carried
-- the story), except for events linked to more than one story in story_events, whose members'
-- copies are read. Same rows and columns as migration 016; v_axis_events_xl is unchanged.
-- On a synthetic warehouse of 100,000 articles, 10,000 axis stories and 80,000 story_events rows
-- (1,000 events of two stories), one thread, CPU seconds, best of four: count(*) 0.175 with 016's
-- definition, 0.150 with this one; newest 20 0.209 and 0.141; SELECT * 0.496 and 0.423 (008's view,
-- without event and source columns: 0.014, 0.031, 0.253).
CREATE OR REPLACE VIEW v_axis_stories AS
WITH axis_copies AS (
    SELECT c.cluster_id, a.outlet, a.language, coalesce(a.published_at, a.first_seen_at) AS published_at, a.first_seen_at,
           a.id = s.representative_article_id AS headline_copy
    FROM story_axis x JOIN story_clusters s ON s.id = x.cluster_id
    JOIN article_clusters c ON c.cluster_id = x.cluster_id JOIN articles a ON a.id = c.article_id
    UNION ALL
    SELECT c.cluster_id, d.outlet, NULL, coalesce(a.published_at, d.first_seen_at), d.first_seen_at, false  -- an exact duplicate has its original's language
    FROM story_axis x JOIN article_clusters c ON c.cluster_id = x.cluster_id
    JOIN article_duplicates d ON d.article_id = c.article_id JOIN articles a ON a.id = d.article_id
), per_outlet AS (
    SELECT cluster_id, outlet, min(published_at) AS published_at, min(first_seen_at) AS first_seen_at,
           bool_or(headline_copy) AS headline_copy
    FROM axis_copies GROUP BY cluster_id, outlet
), ranked AS (
    SELECT p.cluster_id, p.outlet, coalesce(o.affiliation, 'unknown') AS affiliation,
           row_number() OVER (PARTITION BY p.cluster_id
                              ORDER BY p.published_at, p.first_seen_at, p.headline_copy DESC, p.outlet NULLS LAST) AS report_rank
    FROM per_outlet p LEFT JOIN v_outlets o ON o.outlet = p.outlet
), sources AS (
    SELECT cluster_id,
           list_sort(list_distinct(list(affiliation))) AS affiliations,
           bool_and(affiliation IN ('state_ru', 'state_kp', 'state_cn', 'state_ua')) AS state_media_only,
           min(outlet) FILTER (WHERE report_rank = 1) AS first_reporter,
           min(affiliation) FILTER (WHERE report_rank = 1) AS first_reporter_affiliation
    FROM ranked GROUP BY cluster_id
), own AS (  -- a story's own copies: its event's languages and outlets when it is the event's only story
    SELECT cluster_id,
           list_sort(list_distinct(list(language) FILTER (WHERE language IS NOT NULL AND language <> ''))) AS languages,
           list_sort(list_distinct(list(outlet) FILTER (WHERE outlet IS NOT NULL AND outlet <> ''))) AS outlets
    FROM axis_copies GROUP BY cluster_id
), shared_events AS (  -- events linked to several stories, and those stories
    SELECT e.event_id, e.cluster_id FROM story_events e
    WHERE e.event_id IN (SELECT event_id FROM story_events GROUP BY event_id HAVING count(*) > 1)
), shared_copies AS (
    SELECT m.event_id, a.outlet, a.language
    FROM shared_events m JOIN article_clusters c ON c.cluster_id = m.cluster_id JOIN articles a ON a.id = c.article_id
    UNION ALL
    SELECT m.event_id, d.outlet, NULL
    FROM shared_events m JOIN article_clusters c ON c.cluster_id = m.cluster_id JOIN article_duplicates d ON d.article_id = c.article_id
), shared AS (
    SELECT event_id,
           list_sort(list_distinct(list(language) FILTER (WHERE language IS NOT NULL AND language <> ''))) AS languages,
           list_sort(list_distinct(list(outlet) FILTER (WHERE outlet IS NOT NULL AND outlet <> ''))) AS outlets
    FROM shared_copies GROUP BY event_id
)
SELECT s.id AS cluster_id, s.first_seen_at, s.last_seen_at, s.outlets_count AS outlets, s.member_count AS copies,
       a.title AS headline, a.canonical_url AS url, a.outlet AS first_outlet, a.language,
       x.countries, x.topics, x.score, x.languages, x.matched_terms,
       coalesce(a.published_at, s.first_seen_at) AS published_at,
       coalesce(e.event_id, 'e-' || substr(x.cluster_id, 3)) AS event_id,
       CASE WHEN sh.event_id IS NULL THEN own.languages ELSE sh.languages END AS event_languages,
       CASE WHEN sh.event_id IS NULL THEN own.outlets ELSE sh.outlets END AS event_outlets,
       coalesce(src.affiliations, []) AS affiliations, coalesce(src.state_media_only, false) AS state_media_only,
       src.first_reporter, src.first_reporter_affiliation
FROM story_axis x
JOIN story_clusters s ON s.id = x.cluster_id
JOIN articles a ON a.id = s.representative_article_id
LEFT JOIN story_events e ON e.cluster_id = x.cluster_id
LEFT JOIN own ON own.cluster_id = x.cluster_id
LEFT JOIN shared sh ON sh.event_id = e.event_id
LEFT JOIN sources src ON src.cluster_id = x.cluster_id;

COMMENT ON VIEW v_axis_stories IS 'One row per axis story (a cluster of copies across outlets), with the why of its tags and who carried it';
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
COMMENT ON COLUMN v_axis_stories.affiliations IS 'Affiliations of the outlets that carried the story (v_story_sources)';
COMMENT ON COLUMN v_axis_stories.state_media_only IS 'True when every outlet that carried the story is state media (an unknown outlet is not)';
COMMENT ON COLUMN v_axis_stories.first_reporter IS 'The outlet that published the story first (v_story_sources.report_rank = 1)';
COMMENT ON COLUMN v_axis_stories.first_reporter_affiliation IS 'Affiliation of the first reporter';
