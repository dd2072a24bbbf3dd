-- Problems whose signature is missing or from another configuration, in storage order (no sort:
-- the texts are streamed, and sorting them would hold them all in memory).
SELECT p.problem_id AS item_id, p.problem AS text
FROM problems p
LEFT JOIN dedup_signatures s ON s.item_kind = 'problem' AND s.item_id = p.problem_id
WHERE s.item_id IS NULL OR s.config_key <> $config_key;
