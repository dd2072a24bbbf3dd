-- verify stage: traces whose verdict is missing, from an older verifier, computed against another
-- reference answer, or undecided and not yet shown to the LLM judge (when $judge).
SELECT t.trace_id, p.answer AS gold, t.seq
FROM traces t
JOIN problems p ON p.problem_id = t.problem_id
LEFT JOIN verdicts v ON v.trace_id = t.trace_id
WHERE v.trace_id IS NULL
   OR v.verifier_version <> $version
   OR v.reference_answer IS DISTINCT FROM p.answer
   OR ($judge AND v.verdict IN ('gold_unparseable', 'pred_unparseable', 'timeout', 'error')
       AND NOT coalesce(v.judge_requested, FALSE))
ORDER BY t.seq;
