-- verify stage: the texts of one batch of traces ($ids), with the problem (for the LLM judge).
SELECT t.trace_id, p.answer AS gold, t.thought, t.solution, p.problem
FROM traces t
JOIN problems p ON p.problem_id = t.problem_id
WHERE t.trace_id IN (SELECT unnest($ids::VARCHAR[]));
