-- Traces whose verdict disagrees with the source's own label (for review), newest verifier only.
SELECT t.trace_id, t.source, t.label_correct, v.verdict, v.extracted, p.answer AS reference_answer, v.method
FROM traces t
JOIN verdicts v ON v.trace_id = t.trace_id
JOIN problems p ON p.problem_id = t.problem_id
WHERE t.label_correct IS NOT NULL AND v.verdict IN ('correct', 'incorrect')
  AND t.label_correct <> (v.verdict = 'correct')
ORDER BY t.seq
LIMIT $limit;
