-- signals stage: the texts of one batch of traces ($ids), in seq order.
SELECT trace_id, thought, solution, thought_closed, finish_reason
FROM traces
WHERE trace_id IN (SELECT unnest($ids))
ORDER BY seq;
