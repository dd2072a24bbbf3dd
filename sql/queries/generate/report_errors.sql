-- Why requests failed (the last error's kind, from the per-attempt error list).
SELECT kind, coalesce(errors->>'$[#-1].kind', 'unknown') AS error_kind, count(*) AS requests
FROM gen_requests
WHERE status = 'failed'
GROUP BY ALL
ORDER BY requests DESC;
