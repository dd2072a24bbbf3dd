-- signals stage: before the first batch, drop the markers of the traces about to be (re)computed ($ids).
-- Safe on resume: a trace written by a killed run is up to date and not in $ids again.
DELETE FROM trace_markers WHERE trace_id IN (SELECT unnest($ids::VARCHAR[]));
