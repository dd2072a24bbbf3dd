-- Evaluation runs, newest first, with accuracy per benchmark (full generations).
SELECT r.run_id, r.model, r.backend, r.out_dir, r.created_at,
       list({'benchmark': e.benchmark, 'accuracy': e.accuracy, 'mean_tokens': e.mean_tokens} ORDER BY e.benchmark) AS benchmarks
FROM eval_runs r LEFT JOIN eval_results e ON e.run_id = r.run_id AND e.budget IS NULL
GROUP BY ALL
ORDER BY r.created_at DESC;
