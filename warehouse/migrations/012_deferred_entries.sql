-- A long feed is read to its end over several runs: each run fetches at most feed.max_entries of
-- its entries not stored yet and leaves the rest for the next run (the feed's validators stay
-- until every entry was read). How many a run left is recorded per fetch.
ALTER TABLE feed_fetches ADD COLUMN entries_deferred INTEGER;
