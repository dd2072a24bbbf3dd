-- new_signatures: an Arrow table registered by the dedup stage.
INSERT OR REPLACE INTO dedup_signatures (item_kind, item_id, config_key, exact_hash, n_chars, n_shingles, numbers_hash, signature)
SELECT item_kind, item_id, config_key, exact_hash, n_chars, n_shingles, numbers_hash, signature FROM new_signatures;
