-- report --html: token counts per source (histograms).
SELECT t.source, s.n_tokens
FROM trace_signals s JOIN traces t ON t.trace_id = s.trace_id
WHERE s.n_tokens IS NOT NULL;
