-- lineage: train runs that trained on a build folder, in any stage (stages[*].data is BUILD/sft.jsonl).
SELECT run_dir, max(created_at) AS created_at FROM train_runs
WHERE build_dir = $build_dir
   OR list_contains(json_extract_string(stages, '$[*].data'), $build_dir || '/sft.jsonl')
GROUP BY run_dir ORDER BY created_at;
