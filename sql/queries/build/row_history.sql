-- Why one trace was kept or dropped in each build (for the review app).
SELECT b.build_id, b.name, b.variant, b.created_at, r.kept, r.reasons, r.step, r.details
FROM build_rows r JOIN builds b ON b.build_id = r.build_id
WHERE r.trace_id = $trace_id
ORDER BY b.created_at DESC, b.build_id;
