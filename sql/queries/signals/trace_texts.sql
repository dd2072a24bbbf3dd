-- signals stage: the texts of one batch of traces ($ids), in seq order. $lo/$hi bound the batch's seq:
-- a constant range the scan can push down, so only the storage vectors holding the batch are read
-- (an IN list alone reads every trace's text for every batch: quadratic on a large catalog).
SELECT trace_id, thought, solution, thought_closed, finish_reason
FROM traces
WHERE seq BETWEEN $lo AND $hi
  AND trace_id IN (SELECT unnest($ids))
ORDER BY seq;
