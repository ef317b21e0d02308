-- Feeds as configured, with the validators and body hash used for conditional GET.
CREATE TABLE feeds (
    name            VARCHAR PRIMARY KEY,
    url             VARCHAR NOT NULL,
    outlet          VARCHAR,
    country         VARCHAR,
    language        VARCHAR,
    enabled         BOOLEAN NOT NULL DEFAULT TRUE,
    etag            VARCHAR,
    last_modified   VARCHAR,
    body_hash       VARCHAR,
    last_fetched_at TIMESTAMPTZ,
    last_success_at TIMESTAMPTZ,
    failure_streak  INTEGER NOT NULL DEFAULT 0
);

-- One row per pass of the pipeline.
CREATE TABLE pipeline_runs (
    run_id        VARCHAR PRIMARY KEY,
    started_at    TIMESTAMPTZ NOT NULL,
    finished_at   TIMESTAMPTZ,
    status        VARCHAR NOT NULL,
    feeds_ok      INTEGER,
    feeds_failed  INTEGER,
    entries_seen  INTEGER,
    articles_new  INTEGER,
    duplicates    INTEGER,
    axis_new      INTEGER,
    errors        JSON
);

-- One row per feed fetch: what happened, how big, how long, and why it failed.
CREATE TABLE feed_fetches (
    run_id       VARCHAR NOT NULL,
    feed         VARCHAR NOT NULL,
    url          VARCHAR NOT NULL,
    fetched_at   TIMESTAMPTZ NOT NULL,
    status       VARCHAR NOT NULL,  -- ok | not_modified | unchanged | error
    http_status  INTEGER,
    bytes        BIGINT,
    duration_ms  INTEGER,
    entries      INTEGER,
    feed_format  VARCHAR,
    error_kind   VARCHAR,
    error        VARCHAR,
    PRIMARY KEY (run_id, feed)
);

-- One row per distinct story copy (distinct canonical URL and distinct content).
CREATE TABLE articles (
    id             VARCHAR PRIMARY KEY,
    canonical_url  VARCHAR NOT NULL UNIQUE,
    url            VARCHAR NOT NULL,
    feed           VARCHAR,
    outlet         VARCHAR,
    title          VARCHAR,
    summary        VARCHAR,
    text           VARCHAR,
    language       VARCHAR,
    author         VARCHAR,
    published_at   TIMESTAMPTZ,
    first_seen_at  TIMESTAMPTZ NOT NULL,
    content_hash   VARCHAR NOT NULL,
    fetch_status   VARCHAR NOT NULL,  -- ok | failed
    fetch_error    VARCHAR,
    http_status    INTEGER,
    run_id         VARCHAR NOT NULL,
    guid           VARCHAR,
    raw_entry      JSON
);
CREATE INDEX articles_content_hash ON articles (content_hash);

-- URLs whose content is an exact copy of an article already stored.
CREATE TABLE article_duplicates (
    canonical_url  VARCHAR PRIMARY KEY,
    article_id     VARCHAR NOT NULL,
    url            VARCHAR NOT NULL,
    feed           VARCHAR,
    outlet         VARCHAR,
    title          VARCHAR,
    reason         VARCHAR NOT NULL,  -- content_hash
    first_seen_at  TIMESTAMPTZ NOT NULL,
    run_id         VARCHAR NOT NULL
);

-- Axis tags; one row per article and tagger version, so re-tagging keeps history.
CREATE TABLE article_tags (
    article_id      VARCHAR NOT NULL,
    tagger_version  VARCHAR NOT NULL,
    is_axis         BOOLEAN NOT NULL,
    score           DOUBLE NOT NULL,
    countries       VARCHAR[],
    topics          VARCHAR[],
    matches         JSON,
    tagged_at       TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (article_id, tagger_version)
);
