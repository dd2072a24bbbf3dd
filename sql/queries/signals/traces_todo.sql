-- signals stage: traces whose signals are missing, from an older signal version, another tokenizer or
-- another configuration (marker lists, thresholds).
SELECT t.trace_id, t.seq
FROM traces t
LEFT JOIN trace_signals s ON s.trace_id = t.trace_id
WHERE s.trace_id IS NULL
   OR s.signal_version <> $version
   OR s.tokenizer IS DISTINCT FROM $tokenizer
   OR s.config_hash IS DISTINCT FROM $config_hash
ORDER BY t.seq;
