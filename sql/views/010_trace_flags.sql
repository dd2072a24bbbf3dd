-- The latest review flag of each trace (the full history stays in review_flags / flags.jsonl).
-- A trace counts as flagged when its latest label is anything but 'good'.
CREATE OR REPLACE VIEW trace_flags AS
SELECT trace_id, label, reason, note, reviewer, created_at,
       label <> 'good' AS flagged
FROM (
    SELECT *, row_number() OVER (PARTITION BY trace_id ORDER BY created_at DESC, flag_id DESC) AS rn
    FROM review_flags
)
WHERE rn = 1;
