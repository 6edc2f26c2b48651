-- Files, chunks, keyword index, embedding cache and redaction digests.
-- Vector tables (sqlite-vec vec0) are created by ChunkStore once the embedder's dimension is known.
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE files (
    id INTEGER PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,
    content_hash TEXT NOT NULL,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    language TEXT NOT NULL,
    chunk_count INTEGER NOT NULL DEFAULT 0,
    redactions INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE chunks (
    id INTEGER PRIMARY KEY,
    file_id INTEGER NOT NULL REFERENCES files(id) ON DELETE CASCADE,
    language TEXT NOT NULL,
    symbol TEXT NOT NULL,
    kind TEXT NOT NULL,
    start_line INTEGER NOT NULL,
    end_line INTEGER NOT NULL,
    context TEXT NOT NULL DEFAULT '',
    text TEXT NOT NULL,
    chunk_hash TEXT NOT NULL
);
CREATE INDEX chunks_file ON chunks(file_id);
CREATE INDEX chunks_hash ON chunks(chunk_hash);
CREATE INDEX chunks_language ON chunks(language);

-- Float vectors by chunk id, for exact rescoring of prefilter candidates and for reuse by hash.
-- (sqlite-vec's vec0 tables answer KNN scans; point lookups by rowid are much faster here.)
-- `bits` is the sign-quantized vector (1 bit per dimension) for the Hamming prefilter.
CREATE TABLE chunk_embeddings (
    chunk_id INTEGER PRIMARY KEY,
    embedding BLOB NOT NULL,
    bits BLOB NOT NULL
);

-- Vectors of chunks that left the index (branch switch, edit), kept so that coming back re-embeds nothing.
CREATE TABLE embedding_cache (
    embedder TEXT NOT NULL,
    chunk_hash TEXT NOT NULL,
    embedding BLOB NOT NULL,
    last_used INTEGER NOT NULL,
    PRIMARY KEY (embedder, chunk_hash)
) WITHOUT ROWID;
CREATE INDEX embedding_cache_age ON embedding_cache(last_used);

-- SHA-256 digests of redacted secret values (never the values themselves).
CREATE TABLE redacted_digests (
    digest TEXT PRIMARY KEY
) WITHOUT ROWID;

-- Identifier-aware keyword index: rowid = chunks.id; columns hold split identifier words.
CREATE VIRTUAL TABLE chunks_fts USING fts5(
    symbol, path, body,
    content = '', contentless_delete = 1,
    tokenize = 'unicode61 remove_diacritics 2'
);
