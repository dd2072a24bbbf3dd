-- The journal (the cost table): requests per kind, model and status, with tokens, cost and attempts. Output
-- tokens are split into what came back (visible, returned reasoning included) and hidden reasoning (billed,
-- not returned).
SELECT kind, model, status, count(*) AS requests, sum(attempts) AS attempts,
       coalesce(sum(prompt_tokens), 0) AS prompt_tokens, coalesce(sum(completion_tokens), 0) AS completion_tokens,
       coalesce(sum(completion_tokens), 0) - coalesce(sum(hidden_reasoning_tokens), 0) AS visible_completion_tokens,
       coalesce(sum(reasoning_tokens), 0) AS reasoning_tokens,
       coalesce(sum(hidden_reasoning_tokens), 0) AS hidden_reasoning_tokens,
       sum(cost_usd) AS cost_usd, sum(hidden_reasoning_cost_usd) AS hidden_reasoning_cost_usd,
       count(*) FILTER (WHERE cost_usd IS NULL AND completion_tokens IS NOT NULL) AS unpriced,
       count(*) FILTER (WHERE usage_estimated) AS usage_estimated,
       avg(latency_s) AS mean_latency_s
FROM gen_requests
GROUP BY ALL
ORDER BY kind, model, status;
