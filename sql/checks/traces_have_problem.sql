-- Every trace points at a problem that exists.
SELECT t.trace_id, t.problem_id FROM traces t
LEFT JOIN problems p USING (problem_id)
WHERE p.problem_id IS NULL;
