-- The journal: requests per kind, model and status, with tokens, cost and attempts.
SELECT kind, model, status, count(*) AS requests, sum(attempts) AS attempts,
       coalesce(sum(prompt_tokens), 0) AS prompt_tokens, coalesce(sum(completion_tokens), 0) AS completion_tokens,
       coalesce(sum(reasoning_tokens), 0) AS reasoning_tokens, sum(cost_usd) AS cost_usd,
       count(*) FILTER (WHERE cost_usd IS NULL AND completion_tokens IS NOT NULL) AS unpriced,
       count(*) FILTER (WHERE usage_estimated) AS usage_estimated,
       avg(latency_s) AS mean_latency_s
FROM gen_requests
GROUP BY ALL
ORDER BY kind, model, status;
