-- The problems of one ingested problem file, in file order (a problem repeated in the file once).
SELECT p.problem_id, p.problem, coalesce(min(ps.answer), p.answer) AS answer
FROM problem_sources ps JOIN problems p ON p.problem_id = ps.problem_id
WHERE ps.source = $source AND ps.file = $file
GROUP BY p.problem_id, p.problem, p.answer
ORDER BY min(ps.line);
