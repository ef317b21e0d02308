-- One row per (story, rule, channel): what to send, what was sent, and why not yet.
CREATE TABLE alert_outbox (
    cluster_id       VARCHAR NOT NULL,
    rule             VARCHAR NOT NULL,
    channel          VARCHAR NOT NULL,
    status           VARCHAR NOT NULL,  -- pending | sent
    attempts         INTEGER NOT NULL DEFAULT 0,
    last_error       VARCHAR,           -- secrets redacted
    created_at       TIMESTAMPTZ NOT NULL,
    next_attempt_at  TIMESTAMPTZ NOT NULL,
    sent_at          TIMESTAMPTZ,
    outlets_at_send  INTEGER,           -- to notice a story that grew (rules with notify_updates)
    run_id           VARCHAR,
    PRIMARY KEY (cluster_id, rule, channel)
);
COMMENT ON TABLE alert_outbox IS 'Alerts per story, rule and channel: status, attempts, last error (redacted), sent time';
