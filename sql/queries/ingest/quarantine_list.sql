SELECT source, file, line, reason, raw FROM quarantine
WHERE $source IS NULL OR source = $source
ORDER BY source, file, line
LIMIT $limit;
