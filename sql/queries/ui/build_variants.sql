-- review app, Builds: the variants of one build job side by side.
SELECT build_id, CASE WHEN variant = '' THEN '(base)' ELSE variant END AS variant, kept, dropped, out_dir,
       counts, created_at
FROM builds
WHERE job_id = $job_id AND name = $name
ORDER BY variant <> '', variant;
