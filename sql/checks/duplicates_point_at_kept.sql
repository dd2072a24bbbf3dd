-- A duplicate points at a trace that exists and is itself kept (not a duplicate).
SELECT d.trace_id, d.duplicate_of FROM trace_duplicates d
LEFT JOIN traces t ON t.trace_id = d.duplicate_of
LEFT JOIN trace_duplicates dd ON dd.trace_id = d.duplicate_of
WHERE t.trace_id IS NULL OR dd.trace_id IS NOT NULL;
