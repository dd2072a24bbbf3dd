-- Traces whose signature is missing or from another configuration, in storage order (no sort:
-- the texts are streamed, and sorting them would hold them all in memory).
SELECT t.trace_id AS item_id,
       coalesce(t.thought, '') || chr(10) || coalesce(t.solution, '') AS text
FROM traces t
LEFT JOIN dedup_signatures s ON s.item_kind = 'trace' AND s.item_id = t.trace_id
WHERE s.item_id IS NULL OR s.config_key <> $config_key;
