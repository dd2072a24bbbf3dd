-- The traces of a source that a reformat run rewrites (never rewrites of rewrites), in ingest order.
SELECT t.trace_id, t.problem_id, p.problem, p.answer, t.thought, t.solution
FROM traces t JOIN problems p ON p.problem_id = t.problem_id
WHERE t.trace_id IN (SELECT trace_id FROM trace_sources WHERE source = $source)
  AND t.parent_trace_id IS NULL
ORDER BY t.seq;
