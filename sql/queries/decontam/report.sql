-- distillate report, decontam section: matched problems per benchmark and method.
SELECT benchmark, method, count(DISTINCT problem_id) AS problems, count(DISTINCT benchmark_id) AS items
FROM contamination_matches GROUP BY benchmark, method ORDER BY benchmark, method;
