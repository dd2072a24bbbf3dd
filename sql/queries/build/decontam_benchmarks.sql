-- Per benchmark: matched catalog problems and match methods (all candidates, before any recipe).
SELECT benchmark, count(DISTINCT problem_id) AS problems, count(DISTINCT benchmark_id) AS benchmark_items,
       list(DISTINCT method ORDER BY method) AS methods
FROM contamination_matches GROUP BY benchmark ORDER BY benchmark;
