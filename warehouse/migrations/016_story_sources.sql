-- Who reported what, first: each outlet's affiliation (declared per feed, with its public source
-- cited in the feeds file), who carried each story and how long after its first report, and the
-- directed supply events (supplier, item, recipient) read from axis stories with their evidence.

ALTER TABLE feeds ADD COLUMN affiliation VARCHAR;  -- ingest.outlets.AFFILIATIONS; NULL read as 'unknown'

-- One row per outlet named by a feed: its affiliation, 'unknown' unless every feed of the outlet
-- that classifies it agrees (the feeds file refuses disagreement; feeds removed from it stay here).
CREATE VIEW v_outlets AS
SELECT outlet,
       CASE WHEN count(DISTINCT affiliation) FILTER (WHERE affiliation <> 'unknown') = 1
            THEN min(affiliation) FILTER (WHERE affiliation <> 'unknown') ELSE 'unknown' END AS affiliation,
       min(country) AS country, list_sort(list_distinct(list(language) FILTER (WHERE language <> ''))) AS languages,
       count(*) AS feeds
FROM feeds WHERE outlet IS NOT NULL AND outlet <> '' GROUP BY outlet;
COMMENT ON VIEW v_outlets IS 'One row per outlet of the configured feeds, with its affiliation (unknown unless classified)';
COMMENT ON COLUMN v_outlets.affiliation IS 'state_ru, state_kp, state_cn, state_ua, state_funded, public_service, independent, private, wire or unknown (ingest/outlets.py)';

-- One row per (story, outlet): v_outlet_coverage (its tie rule: exactly one outlet per story has
-- report_rank 1) with the outlet's affiliation and the language of its copies.
CREATE VIEW v_story_sources AS
WITH langs AS (
    SELECT c.cluster_id, c.outlet, min(a.language) FILTER (WHERE a.language <> '') AS language
    FROM v_story_copies c JOIN articles a ON a.id = c.article_id
    GROUP BY c.cluster_id, c.outlet
)
SELECT o.cluster_id, o.outlet, coalesce(f.affiliation, 'unknown') AS affiliation,
       coalesce(f.affiliation, 'unknown') IN ('state_ru', 'state_kp', 'state_cn', 'state_ua') AS state_media,
       l.language, o.published_at AS first_published, o.delay AS lag, o.report_rank, o.copies, o.first_seen_at
FROM v_outlet_coverage o
LEFT JOIN langs l ON l.cluster_id = o.cluster_id AND l.outlet IS NOT DISTINCT FROM o.outlet
LEFT JOIN v_outlets f ON f.outlet = o.outlet;
COMMENT ON VIEW v_story_sources IS 'Per story and outlet: affiliation, language, first publication and lag behind the story''s first report (report_rank 1 = the first reporter, one per story)';
COMMENT ON COLUMN v_story_sources.affiliation IS 'The outlet''s affiliation from the feeds file (unknown when no feed classifies it)';
COMMENT ON COLUMN v_story_sources.state_media IS 'True for state_ru, state_kp, state_cn and state_ua outlets';
COMMENT ON COLUMN v_story_sources.language IS 'Language of the outlet''s copies of the story';
COMMENT ON COLUMN v_story_sources.first_published IS 'Earliest publication of the story by this outlet (first seen when the source gives none)';
COMMENT ON COLUMN v_story_sources.lag IS 'How long after the story''s first publication this outlet published it (0 for the first reporter and same-minute copies)';
COMMENT ON COLUMN v_story_sources.report_rank IS 'Order of reporting (v_outlet_coverage.report_rank): 1 is the first reporter';

-- v_axis_stories: every column of migration 015 (008's and the event's), then who carried the story. The per-outlet rank
-- is v_outlet_coverage's rule (earliest publication, earliest first seen, the headline copy's
-- outlet, outlet name) computed here over the copies of axis stories only: reading it from
-- v_story_sources ranked every story's copies first (SELECT * took 1.3 s instead of 0.34 s on a
-- synthetic warehouse of 300,000 articles and 5,000 axis stories, where migration 008's took 0.23 s).
CREATE OR REPLACE VIEW v_axis_stories AS
WITH axis_copies AS (
    SELECT c.cluster_id, a.outlet, coalesce(a.published_at, a.first_seen_at) AS published_at, a.first_seen_at,
           a.id = s.representative_article_id AS headline_copy
    FROM story_axis x JOIN story_clusters s ON s.id = x.cluster_id
    JOIN article_clusters c ON c.cluster_id = x.cluster_id JOIN articles a ON a.id = c.article_id
    UNION ALL
    SELECT c.cluster_id, d.outlet, coalesce(a.published_at, d.first_seen_at), d.first_seen_at, false
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
)
SELECT s.id AS cluster_id, s.first_seen_at, s.last_seen_at, s.outlets_count AS outlets, s.member_count AS copies,
       a.title AS headline, a.canonical_url AS url, a.outlet AS first_outlet, a.language,
       x.countries, x.topics, x.score, x.languages, x.matched_terms,
       coalesce(a.published_at, s.first_seen_at) AS published_at,
       coalesce(e.event_id, 'e-' || substr(x.cluster_id, 3)) AS event_id,
       ev.languages AS event_languages, ev.outlets AS event_outlets,
       coalesce(src.affiliations, []) AS affiliations, coalesce(src.state_media_only, false) AS state_media_only,
       src.first_reporter, src.first_reporter_affiliation
FROM story_axis x
JOIN story_clusters s ON s.id = x.cluster_id
JOIN articles a ON a.id = s.representative_article_id
LEFT JOIN story_events e ON e.cluster_id = x.cluster_id
LEFT JOIN v_axis_events_xl ev ON ev.event_id = coalesce(e.event_id, 'e-' || substr(x.cluster_id, 3))
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

-- Supply events read from the copies of axis stories by transform/supply_events.py: which
-- articles were read by which extractor version, and the events each gave (evidence verbatim).
CREATE TABLE supply_event_scans (
    article_id         VARCHAR NOT NULL,
    extractor_version  VARCHAR NOT NULL,
    events             INTEGER NOT NULL,
    scanned_at         TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (article_id, extractor_version)
);
COMMENT ON TABLE supply_event_scans IS 'Which article copies of axis stories the supply-event extractor read, per extractor version';

CREATE TABLE article_supply_events (
    article_id         VARCHAR NOT NULL,
    extractor_version  VARCHAR NOT NULL,
    supplier           VARCHAR NOT NULL,  -- entity id: north_korea, russia, iran, ...
    item               VARCHAR NOT NULL,  -- troops, workers, munitions, missiles, weapons, technology, energy, food, money, other
    recipient          VARCHAR NOT NULL,
    evidence           VARCHAR NOT NULL,  -- the sentence, verbatim from the article's title, summary or text
    claimed_by         VARCHAR,           -- who the sentence quotes (config/supply_events.yaml claimants), NULL when nobody
    PRIMARY KEY (article_id, extractor_version, supplier, item, recipient)
);
COMMENT ON TABLE article_supply_events IS 'Directed supply events per article copy and extractor version, with the sentence that states each';

-- One row per story and (supplier, item, recipient): the evidence of its earliest copy, and how
-- many outlets and languages state it. Only the latest extractor version of each article counts.
CREATE VIEW v_axis_events AS
WITH latest AS (
    SELECT article_id, extractor_version FROM supply_event_scans
    QUALIFY row_number() OVER (PARTITION BY article_id ORDER BY scanned_at DESC, extractor_version DESC) = 1
), stated AS (
    SELECT c.cluster_id, e.supplier, e.item, e.recipient, e.evidence, e.claimed_by, e.article_id,
           a.language, a.outlet, coalesce(a.published_at, a.first_seen_at) AS published_at
    FROM article_supply_events e
    JOIN latest l ON l.article_id = e.article_id AND l.extractor_version = e.extractor_version
    JOIN article_clusters c ON c.article_id = e.article_id
    JOIN articles a ON a.id = e.article_id
    WHERE c.cluster_id IN (SELECT cluster_id FROM story_axis)
)
SELECT cluster_id, supplier, item, recipient,
       arg_min(evidence, (published_at, article_id)) AS evidence,
       arg_min(language, (published_at, article_id)) AS language,
       arg_min(claimed_by, (published_at, article_id)) AS claimed_by,
       arg_min(article_id, (published_at, article_id)) AS article_id,
       count(DISTINCT outlet) AS outlets,
       list_sort(list_distinct(list(language) FILTER (WHERE language IS NOT NULL AND language <> ''))) AS languages,
       min(published_at) AS first_published
FROM stated GROUP BY cluster_id, supplier, item, recipient;
COMMENT ON VIEW v_axis_events IS 'Who supplies what to whom, per axis story: one row per (story, supplier, item, recipient) with the evidence sentence of its earliest copy';
COMMENT ON COLUMN v_axis_events.evidence IS 'The sentence stating the event, verbatim from the earliest copy that states it';
COMMENT ON COLUMN v_axis_events.language IS 'Language of the evidence';
COMMENT ON COLUMN v_axis_events.claimed_by IS 'Who the evidence quotes (an intelligence service, a ministry, state media...), NULL when nobody is named';
COMMENT ON COLUMN v_axis_events.outlets IS 'Distinct outlets whose copies state the event';
COMMENT ON COLUMN v_axis_events.languages IS 'Languages of the copies that state the event';
