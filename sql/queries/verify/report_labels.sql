-- distillate report, section verify: agreement of verdicts with the sources' own correctness labels
-- (original graders have false negatives: the disagreements are worth a look).
SELECT t.label_correct, v.verdict, count(*) AS n
FROM traces t
JOIN verdicts v ON v.trace_id = t.trace_id
WHERE t.label_correct IS NOT NULL AND v.verdict IN ('correct', 'incorrect')
GROUP BY ALL;
