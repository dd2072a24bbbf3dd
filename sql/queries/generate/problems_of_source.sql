-- The problems a catalog source carried (as problems or as the problems of its traces), in ingest order.
SELECT p.problem_id, p.problem, p.answer
FROM problems p
WHERE p.problem_id IN (SELECT problem_id FROM problem_sources WHERE source = $source)
ORDER BY p.seq;
