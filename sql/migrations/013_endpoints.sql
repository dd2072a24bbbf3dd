-- 013: reasoning models and prompt templates in the generation journal (curate/generate, distillate/endpoint.py).
-- hidden_reasoning_tokens: reasoning tokens the API billed (inside completion_tokens) but did not return
-- (o1-class teachers); hidden_reasoning_cost_usd: their share of cost_usd; template_name: the named
-- template (default, long-thought, ...), "@FILE" or "inline" that made the prompt (template_hash: its text).
ALTER TABLE gen_requests ADD COLUMN hidden_reasoning_tokens BIGINT;
ALTER TABLE gen_requests ADD COLUMN hidden_reasoning_cost_usd DOUBLE;
ALTER TABLE gen_requests ADD COLUMN template_name VARCHAR;
