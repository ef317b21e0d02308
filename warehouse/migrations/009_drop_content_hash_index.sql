-- The content-hash index goes: no query used it. The exact-duplicate lookup
-- (warehouse.load.known_hashes) asks for thousands of hashes at once, and DuckDB answers that with
-- a hash semi-join over the column, not index probes (EXPLAIN at 1M articles: SEQ_SCAN + HASH_JOIN
-- SEMI; 0.03-0.09 s with or without the index). Yet every load had to insert each new article into
-- it, and every checkpoint wrote it.
DROP INDEX IF EXISTS articles_content_hash;
