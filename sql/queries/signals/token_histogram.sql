-- report (signals section): token-length histogram per source; `lo` is the bin's lower edge in tokens
-- (bins 0, 500, 1k, 2k, 4k, 8k, 16k, 32k+; empty bins are absent).
SELECT t.source,
       CASE WHEN s.n_tokens < 500 THEN 0 WHEN s.n_tokens < 1000 THEN 500 WHEN s.n_tokens < 2000 THEN 1000
            WHEN s.n_tokens < 4000 THEN 2000 WHEN s.n_tokens < 8000 THEN 4000 WHEN s.n_tokens < 16000 THEN 8000
            WHEN s.n_tokens < 32000 THEN 16000 ELSE 32000 END AS lo,
       count(*) AS n
FROM trace_signals s JOIN traces t ON t.trace_id = s.trace_id
WHERE s.n_tokens IS NOT NULL
GROUP BY ALL
ORDER BY 1, 2;
