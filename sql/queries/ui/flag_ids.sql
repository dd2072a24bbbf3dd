-- review app: the flag ids already mirrored into the snapshot (the rest of flags.jsonl is pending).
SELECT flag_id FROM review_flags;
