-- Record one finished training run (train/run.py).
INSERT INTO train_runs (run_name, job_id, build_dir, build_manifest_sha256, build_recipe_sha256, base_model,
                        run_dir, final_model, stages, settings)
VALUES ($run_name, $job_id, $build_dir, $build_manifest_sha256, $build_recipe_sha256, $base_model,
        $run_dir, $final_model, $stages, $settings);
