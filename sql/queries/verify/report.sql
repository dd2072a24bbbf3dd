-- distillate report, section verify: verdict counts per source (NULL verdict = not verified yet).
SELECT t.source, v.verdict, count(*) AS n, count(*) FILTER (WHERE v.judged_by_llm) AS judged
FROM traces t
LEFT JOIN verdicts v ON v.trace_id = t.trace_id
GROUP BY ALL
ORDER BY t.source, v.verdict;
