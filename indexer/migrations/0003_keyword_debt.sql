-- How many rows were deleted from chunks_fts since it was last filled from scratch. A contentless FTS5 table cannot
-- take a deleted row's tokens back out of its bm25 statistics (the row count and the token totals keep counting it),
-- so every re-indexed file skews the keyword scores until the table is rebuilt (`Writes.rebuild_stale_keywords`).
-- An index from before this count is taken to hold as many deleted rows as live ones: its next update rebuilds it.
INSERT OR REPLACE INTO meta(key, value) SELECT 'keyword_stale_rows', CAST(count(*) AS TEXT) FROM chunks;
