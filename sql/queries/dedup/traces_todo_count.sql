SELECT count(*) FROM traces t
LEFT JOIN dedup_signatures s ON s.item_kind = 'trace' AND s.item_id = t.trace_id
WHERE s.item_id IS NULL OR s.config_key <> $config_key;
