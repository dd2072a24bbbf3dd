-- Every trace has at least one provenance row and a non-empty source_id.
SELECT t.trace_id FROM traces t
WHERE t.source_id IS NULL OR t.source_id = ''
   OR NOT EXISTS (SELECT 1 FROM trace_sources s WHERE s.trace_id = t.trace_id);
