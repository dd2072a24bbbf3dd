-- new_pairs: an Arrow table registered by the dedup stage.
INSERT OR REPLACE INTO dedup_pairs (item_kind, a, b, config_key, similarity, is_dup, method)
SELECT item_kind, a, b, config_key, similarity, is_dup, method FROM new_pairs;
