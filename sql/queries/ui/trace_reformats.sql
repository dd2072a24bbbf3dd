-- review app, Trace: original <-> reformatted traces (traces.parent_trace_id) with the fidelity check.
SELECT t.trace_id, 'reformatted version' AS relation, t.source, t.thought, t.solution,
       rc.passed, rc.reasons
FROM traces t LEFT JOIN reformat_checks rc ON rc.trace_id = t.trace_id
WHERE t.parent_trace_id = $trace_id
UNION ALL
SELECT t.trace_id, 'original', t.source, t.thought, t.solution, NULL, NULL
FROM traces t
WHERE t.trace_id = (SELECT parent_trace_id FROM traces WHERE trace_id = $trace_id);
