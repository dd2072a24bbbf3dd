-- decontam: matches with both texts, for the review app (a flagged problem beside its benchmark item).
SELECT * FROM contamination_pairs
WHERE ($benchmark IS NULL OR benchmark = $benchmark)
  AND ($problem_id IS NULL OR problem_id = $problem_id)
ORDER BY benchmark, benchmark_id, problem_id, method
LIMIT $limit;
