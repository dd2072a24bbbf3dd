INSERT OR IGNORE INTO trace_sources (trace_id, source, source_id, file, line)
SELECT DISTINCT ON (trace_id, source, source_id) trace_id, source, source_id, file, line
FROM _in_trace_sources;
