-- shards: the completion markers of one stage configuration.
SELECT shard, fingerprint, items, computed, job_id, seconds FROM stage_shards
WHERE stage = $stage AND config_key = $config_key;
