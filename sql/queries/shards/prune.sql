-- shards: drop a stage configuration's markers of another shard count (the corpus grew or --shard-size
-- changed): their keys can never match again.
DELETE FROM stage_shards
WHERE stage = $stage AND config_key = $config_key AND NOT ends_with(shard, $suffix);
