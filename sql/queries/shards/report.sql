-- shards: finished shards per stage configuration (report / bench).
SELECT stage, config_key, count(*) AS shards, sum(items) AS items, sum(computed) AS computed,
       max(finished_at) AS last_finished
FROM stage_shards GROUP BY ALL ORDER BY stage, config_key;
