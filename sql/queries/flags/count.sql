SELECT count(*) FROM review_flags;
