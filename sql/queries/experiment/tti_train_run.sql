-- One training run by name or job id (the Transparency Index's fallback when its run.json is gone).
SELECT run_name, base_model, final_model, stages, settings
FROM train_runs WHERE run_name = $run OR job_id = $run
ORDER BY created_at DESC LIMIT 1;
