-- Alerts keep their key: every message carries an idempotency key derived from (story, rule,
-- channel) and the story's alert version; a retry sends the same key, so a receiver that dedupes
-- on it sees each alert once.
ALTER TABLE alert_outbox ADD COLUMN version INTEGER DEFAULT 0;      -- 0: the first alert; +1 each update sent again
ALTER TABLE alert_outbox ADD COLUMN message_key VARCHAR;            -- the key of the message this row went out in (kept for its retries)
COMMENT ON COLUMN alert_outbox.version IS 'Alert version of the story for this rule and channel: 0 first, +1 per update (notify_updates)';
COMMENT ON COLUMN alert_outbox.message_key IS 'Idempotency-Key of the message that carries this row; set before the first attempt, reused by every retry';
