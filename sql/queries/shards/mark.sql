-- shards: record a finished shard (replaces an outdated marker of the same shard).
INSERT OR REPLACE INTO stage_shards (stage, config_key, shard, fingerprint, items, computed, job_id, seconds)
VALUES ($stage, $config_key, $shard, $fingerprint, $items, $computed, $job_id, $seconds);
