-- review app: the markers of one trace ($trace_id), in text order, to highlight them.
SELECT kind, part, pos, len
FROM trace_markers
WHERE trace_id = $trace_id
ORDER BY part DESC, pos;
