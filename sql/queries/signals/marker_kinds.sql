-- report (signals section): markers per source and kind, with the rate per 1k tokens of that source.
WITH tok AS (
    SELECT t.source, sum(s.n_tokens) AS tokens
    FROM trace_signals s JOIN traces t ON t.trace_id = s.trace_id
    GROUP BY t.source
)
SELECT t.source, m.kind, count(*) AS n, round(1000.0 * count(*) / any_value(tok.tokens), 3) AS per_1k
FROM trace_markers m
JOIN traces t ON t.trace_id = m.trace_id
JOIN tok ON tok.source = t.source
GROUP BY t.source, m.kind
ORDER BY t.source, n DESC;
