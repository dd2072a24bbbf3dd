-- Benchmark matches of the problems registered as _build_problems(problem_id).
SELECT m.problem_id, m.benchmark, m.benchmark_id, m.method, m.score
FROM contamination_matches m
JOIN _build_problems b ON b.problem_id = m.problem_id
ORDER BY m.problem_id, m.benchmark, m.benchmark_id, m.method;
