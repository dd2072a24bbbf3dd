-- review app, Builds: per variant of one build job, how many rows each funnel step dropped (the first reason).
SELECT CASE WHEN b.variant = '' THEN '(base)' ELSE b.variant END AS variant,
       coalesce(r.step, r.reasons[1]) AS step, count(*) AS n
FROM build_rows r JOIN builds b ON b.build_id = r.build_id
WHERE b.job_id = $job_id AND b.name = $name AND NOT r.kept
GROUP BY ALL
ORDER BY 1, 3 DESC;
