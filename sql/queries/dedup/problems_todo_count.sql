SELECT count(*) FROM problems p
LEFT JOIN dedup_signatures s ON s.item_kind = 'problem' AND s.item_id = p.problem_id
WHERE s.item_id IS NULL OR s.config_key <> $config_key;
