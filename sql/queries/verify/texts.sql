-- verify stage: the texts of one batch of traces ($ids), with the problem (for the LLM judge). $lo/$hi
-- bound the batch's seq so the scan reads only the storage vectors holding it (see signals_trace_texts).
SELECT t.trace_id, p.answer AS gold, t.thought, t.solution, p.problem
FROM traces t
JOIN problems p ON p.problem_id = t.problem_id
WHERE t.seq BETWEEN $lo AND $hi
  AND t.trace_id IN (SELECT unnest($ids::VARCHAR[]))
ORDER BY t.seq;
