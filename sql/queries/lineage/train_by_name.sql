-- lineage: a train run's folder by its run name (the latest of that name).
SELECT run_dir FROM train_runs WHERE run_name = $id ORDER BY created_at DESC LIMIT 1;
