-- 004: dedup stage. Signatures are stored so a new source is compared against the catalog without
-- recomputing old ones; verified candidate pairs are cached (accepted and rejected) so a rerun verifies
-- nothing twice; trace_clusters keeps every member of every duplicate cluster (kept one included) so a
-- build can re-pick the kept trace with another policy without rerunning the stage.

CREATE TABLE dedup_signatures (
    item_kind    VARCHAR NOT NULL,   -- trace | problem
    item_id      VARCHAR NOT NULL,   -- trace_id | problem_id
    config_key   VARCHAR NOT NULL,   -- shingling + MinHash configuration (recomputed when it changes)
    exact_hash   UBIGINT NOT NULL,   -- hash of the normalized token sequence (exact duplicates)
    n_chars      BIGINT NOT NULL,    -- length of the text (shortest/longest policies)
    n_shingles   INTEGER NOT NULL,
    numbers_hash UBIGINT NOT NULL,   -- problems: hash of the numbers in order (0 for traces); part of
                                     -- the LSH keys, since problems stating other numbers never match
    signature    BLOB NOT NULL,      -- uint32 little-endian x permutations
    computed_at  TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (item_kind, item_id)
);

CREATE TABLE dedup_pairs (
    item_kind   VARCHAR NOT NULL,
    a           VARCHAR NOT NULL,    -- a < b
    b           VARCHAR NOT NULL,
    config_key  VARCHAR NOT NULL,
    similarity  DOUBLE NOT NULL,     -- exact Jaccard of the shingle sets (cosine for kind semantic)
    is_dup      BOOLEAN NOT NULL,    -- passed verification (threshold, and equal numbers for problems)
    method      VARCHAR NOT NULL,    -- jaccard | semantic
    PRIMARY KEY (item_kind, a, b, method)
);

CREATE TABLE trace_clusters (
    trace_id    VARCHAR PRIMARY KEY,
    cluster_id  VARCHAR NOT NULL,    -- 'c' + the smallest member trace_id: independent of the policy
    exact_hash  UBIGINT NOT NULL,    -- members with the kept one's hash are exact duplicates of it
    n_chars     BIGINT NOT NULL,
    seq         BIGINT NOT NULL
);

