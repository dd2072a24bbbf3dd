-- 006: builds (issue 7). The contract tables `builds` / `build_rows` get the lineage a review app needs:
-- which job made the build, from which catalog state (fingerprint of the candidates it read), and per row
-- the funnel step that dropped it and the details (duplicate_of, contamination matches, ...).
ALTER TABLE builds ADD COLUMN job_id VARCHAR;
ALTER TABLE builds ADD COLUMN fingerprint VARCHAR;        -- hash of the candidates view the build read
ALTER TABLE builds ADD COLUMN recipe_sha256 VARCHAR;      -- hash of the resolved recipe (manifest "recipe")
ALTER TABLE builds ADD COLUMN files JSON;                 -- output file -> sha256 (as in manifest.json)
ALTER TABLE builds ADD COLUMN kept BIGINT;
ALTER TABLE builds ADD COLUMN dropped BIGINT;
ALTER TABLE build_rows ADD COLUMN step VARCHAR;           -- the first reason: the funnel step that dropped it
ALTER TABLE build_rows ADD COLUMN details JSON;
