-- review app, Evaluations: one page of a run's samples (filtered by benchmark and correctness).
SELECT benchmark, item_id, sample, correct, verdict, extracted, n_tokens, finish_reason, error,
       left(response, 300) AS response, count(*) OVER () AS total
FROM eval_samples
WHERE run_id = $run_id
  AND ($benchmark IS NULL OR benchmark = $benchmark)
  AND ($correct IS NULL OR correct = $correct)
ORDER BY benchmark, item_id, sample
LIMIT $limit OFFSET $offset;
