-- lineage: eval runs of the weights of a train run (any stage), oldest first.
SELECT run_id, model, out_dir, train_stage, created_at FROM eval_runs
WHERE train_run_dir = $run_dir ORDER BY created_at, run_id;
