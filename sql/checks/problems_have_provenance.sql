-- Every problem has at least one provenance row.
SELECT p.problem_id FROM problems p
WHERE NOT EXISTS (SELECT 1 FROM problem_sources s WHERE s.problem_id = p.problem_id);
