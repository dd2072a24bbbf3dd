-- review app, Builds: every build job (a recipe with its variants), newest first.
SELECT name, job_id, min(created_at) AS created_at, count(*) AS variants,
       list(variant ORDER BY variant) AS variant_names
FROM builds
GROUP BY name, job_id
ORDER BY created_at DESC;
