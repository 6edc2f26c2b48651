-- What the guards need from the index: each file's licence and winnowing fingerprints of each chunk.
ALTER TABLE files ADD COLUMN license TEXT;

-- Winnowed k-gram hashes of a chunk's normalized text (see indexer/fingerprints.py), by hash.
CREATE TABLE chunk_fingerprints (
    hash INTEGER NOT NULL,
    chunk_id INTEGER NOT NULL,
    position INTEGER NOT NULL
);
CREATE INDEX chunk_fingerprints_hash ON chunk_fingerprints(hash);
CREATE INDEX chunk_fingerprints_chunk ON chunk_fingerprints(chunk_id);
