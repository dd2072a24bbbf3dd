-- lineage: an eval run's output folder by its run id.
SELECT out_dir FROM eval_runs WHERE run_id = $id;
