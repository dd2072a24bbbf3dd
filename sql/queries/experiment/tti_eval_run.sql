-- One evaluation run and whether its samples are recorded (the Transparency Index's fallback when its
-- results.json is gone).
SELECT r.run_id, r.model, r.config, r.results,
       (SELECT count(*) FROM eval_samples s WHERE s.run_id = r.run_id) AS samples
FROM eval_runs r WHERE r.run_id = $run;
