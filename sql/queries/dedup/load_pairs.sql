SELECT a, b, similarity, is_dup, method FROM dedup_pairs
WHERE item_kind = $item_kind AND config_key = $config_key;
