-- Every source that carried each candidate trace (a trace seen in two sources counts in both).
SELECT trace_id, source FROM trace_sources GROUP BY trace_id, source ORDER BY trace_id, source;
