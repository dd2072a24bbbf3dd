-- Mirror new lines of flags/flags.jsonl (registered as _flags_in) into review_flags.
INSERT INTO review_flags
SELECT i.flag_id, i.trace_id, i.label, i.reason, i.note, i.reviewer, CAST(i.created_at AS TIMESTAMP)
FROM _flags_in i
WHERE i.flag_id NOT IN (SELECT flag_id FROM review_flags);
