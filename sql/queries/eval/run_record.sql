-- Record one evaluation run (eval/run.py); its results and samples come from registered arrow tables.
DELETE FROM eval_samples WHERE run_id = $run_id;
DELETE FROM eval_results WHERE run_id = $run_id;
DELETE FROM eval_runs WHERE run_id = $run_id;
INSERT INTO eval_runs (run_id, job_id, model, backend, out_dir, config, results, train_run_dir, train_stage,
                       build_dir, build_manifest_sha256, lineage)
VALUES ($run_id, $job_id, $model, $backend, $out_dir, $config, $results, $train_run_dir, $train_stage,
        $build_dir, $build_manifest_sha256, $lineage);
INSERT INTO eval_results SELECT $run_id, benchmark, budget, n_problems, n_samples, accuracy, mean_tokens
FROM _eval_results;
INSERT INTO eval_samples SELECT $run_id, benchmark, item_id, sample, problem_id, response, n_tokens, finish_reason,
       extracted, verdict, correct, error, budgets
FROM _eval_samples;
