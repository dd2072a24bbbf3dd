-- Journal rows after their latest attempt (_gen_updates: one row per request), committed together with the
-- traces of the requests that completed (see runner.Runner._commit).
UPDATE gen_requests SET
    status = u.status, attempts = u.attempts, last_error = u.last_error, errors = CAST(u.errors AS JSON),
    finish_reason = u.finish_reason, latency_s = u.latency_s, total_latency_s = u.total_latency_s,
    prompt_tokens = u.prompt_tokens, completion_tokens = u.completion_tokens, reasoning_tokens = u.reasoning_tokens,
    hidden_reasoning_tokens = u.hidden_reasoning_tokens, usage_estimated = u.usage_estimated, cost_usd = u.cost_usd,
    hidden_reasoning_cost_usd = u.hidden_reasoning_cost_usd, trace_id = u.trace_id, endpoint = $endpoint,
    job_id = $job_id, updated_at = current_timestamp,
    completed_at = CASE WHEN u.status IN ('completed', 'dropped') THEN current_timestamp ELSE gen_requests.completed_at END
FROM _gen_updates u
WHERE gen_requests.request_id = u.request_id;
