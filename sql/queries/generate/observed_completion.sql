-- --dry-run: the billed output length (hidden reasoning included) of a model's completed requests of a kind.
SELECT count(*) AS requests, avg(completion_tokens) AS mean_tokens
FROM gen_requests
WHERE model = $model AND kind = $kind AND status = 'completed' AND completion_tokens IS NOT NULL;
