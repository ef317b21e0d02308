-- A page that failed for a network reason (timeout, connection, host down, HTTP 429/5xx) is
-- fetched again on later runs, with a growing wait, up to pages.max_attempts; then given up.
ALTER TABLE articles ADD COLUMN fetch_attempts INTEGER;
ALTER TABLE articles ADD COLUMN next_fetch_at TIMESTAMPTZ;
COMMENT ON COLUMN articles.fetch_attempts IS 'How many times the page was fetched (NULL: once, before retries were recorded)';
COMMENT ON COLUMN articles.next_fetch_at IS 'When a page that failed for a network reason is due to be fetched again; NULL: never (fetched, or given up)';
