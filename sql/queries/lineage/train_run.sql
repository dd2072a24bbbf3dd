-- lineage: the catalog record of a train run folder (the latest, if it was trained again).
SELECT run_name, job_id, created_at FROM train_runs WHERE run_dir = $run_dir
ORDER BY created_at DESC LIMIT 1;
