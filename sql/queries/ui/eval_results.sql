-- review app, Evaluations: accuracy and mean tokens per benchmark and budget of the chosen runs.
SELECT r.run_id, r.model, e.benchmark, e.budget, e.n_problems, e.n_samples, e.accuracy, e.mean_tokens
FROM eval_results e JOIN eval_runs r ON r.run_id = e.run_id
WHERE list_contains($run_ids, e.run_id)
ORDER BY e.benchmark, r.run_id, e.budget NULLS LAST;
