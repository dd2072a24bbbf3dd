-- verify stage: new cache entries (new_cache: an Arrow table registered by the stage).
INSERT OR REPLACE INTO verify_cache (verifier_version, gold, pred, verdict, method, result)
SELECT verifier_version, gold, pred, verdict, method, result::JSON FROM new_cache;
