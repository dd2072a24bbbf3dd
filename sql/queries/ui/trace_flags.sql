-- review app, Trace: every flag of one trace in the snapshot (the audit trail), newest first.
SELECT flag_id, label, reason, note, reviewer, created_at
FROM review_flags WHERE trace_id = $trace_id
ORDER BY created_at DESC, flag_id DESC;
