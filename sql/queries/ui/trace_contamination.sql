-- review app, Trace: the benchmark items a problem matched, with both texts and the matched spans.
SELECT benchmark, benchmark_id, method, score, benchmark_problem, benchmark_answer, spans
FROM contamination_pairs
WHERE problem_id = $problem_id
ORDER BY score DESC NULLS LAST, benchmark, benchmark_id
LIMIT 20;
