-- 009: shard completion markers for resumable, sharded stages (curate/shards.py, docs/scale.md).
-- A stage that streams a large corpus cuts the traces into shards by id (shard i of n: the first 8 hex
-- digits of the id modulo n) and records each shard once all its items are written. A rerun after a
-- kill skips the shards recorded here whose fingerprint (item count + xor of id hashes) still matches:
-- a shard that gained items (a later ingest) no longer matches and is processed again (its already
-- computed rows are still skipped by the stage's own missing-or-outdated query).
CREATE TABLE stage_shards (
    stage        VARCHAR NOT NULL,      -- stats | verify | ...
    config_key   VARCHAR NOT NULL,      -- stage version + configuration: another config, other markers
    shard        VARCHAR NOT NULL,      -- 'i/n'
    fingerprint  VARCHAR NOT NULL,      -- '<items>:<xor of id hashes>' of the shard when it finished
    items        BIGINT NOT NULL,       -- items in the shard
    computed     BIGINT NOT NULL,       -- items the finishing run computed (0: all were up to date)
    job_id       VARCHAR NOT NULL,
    seconds      DOUBLE,                -- from the shard's first batch submitted to its last written
    finished_at  TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (stage, config_key, shard)
);
