-- --dry-run: the mean length in characters (thought + solution) of a source's traces.
SELECT count(*) AS traces, avg(length(coalesce(t.thought, '')) + length(coalesce(t.solution, ''))) AS mean_chars
FROM traces t
WHERE t.trace_id IN (SELECT trace_id FROM trace_sources WHERE source = $source);
