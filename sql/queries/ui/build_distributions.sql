-- review app, Builds: per variant of one build job, kept rows per token bin (same bins as the report) and
-- per source.
SELECT CASE WHEN b.variant = '' THEN '(base)' ELSE b.variant END AS variant, t.source,
       CASE WHEN s.n_tokens IS NULL THEN NULL WHEN s.n_tokens < 500 THEN 0 WHEN s.n_tokens < 1000 THEN 500
            WHEN s.n_tokens < 2000 THEN 1000 WHEN s.n_tokens < 4000 THEN 2000 WHEN s.n_tokens < 8000 THEN 4000
            WHEN s.n_tokens < 16000 THEN 8000 WHEN s.n_tokens < 32000 THEN 16000 ELSE 32000 END AS lo,
       count(*) AS n
FROM build_rows r
JOIN builds b ON b.build_id = r.build_id
JOIN traces t ON t.trace_id = r.trace_id
LEFT JOIN trace_signals s ON s.trace_id = r.trace_id
WHERE b.job_id = $job_id AND b.name = $name AND r.kept
GROUP BY ALL
ORDER BY 1, 2, 3;
