-- The journal rows of the requests being planned (their status decides what is sent).
SELECT r.request_id, r.status, r.attempts, CAST(r.errors AS VARCHAR) AS errors, r.prompt_tokens,
       r.completion_tokens, r.reasoning_tokens, r.hidden_reasoning_tokens, r.cost_usd, r.hidden_reasoning_cost_usd,
       r.total_latency_s, r.usage_estimated
FROM gen_requests r
WHERE r.request_id IN (SELECT request_id FROM _gen_plan);
