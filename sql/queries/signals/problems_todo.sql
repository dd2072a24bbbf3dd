-- signals stage: problems whose signals are missing, outdated, from another configuration, or whose
-- reference answer appeared / disappeared since.
SELECT p.problem_id, p.problem, p.answer
FROM problems p
LEFT JOIN problem_signals s ON s.problem_id = p.problem_id
WHERE s.problem_id IS NULL
   OR s.signal_version <> $version
   OR s.config_hash IS DISTINCT FROM $config_hash
   OR s.no_reference IS DISTINCT FROM (p.answer IS NULL OR trim(p.answer) = '')
ORDER BY p.seq;
