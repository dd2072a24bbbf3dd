-- Per-problem pass rates (hardest first), limited for the report.
SELECT problem_id, n_samples, n_graded, n_correct, pass_rate
FROM problem_pass_rates
WHERE n_graded > 0
ORDER BY pass_rate, problem_id
LIMIT $limit;
