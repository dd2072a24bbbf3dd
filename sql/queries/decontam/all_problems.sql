-- decontam-check: every catalog problem (with its first source) to scan against a new benchmark file.
SELECT problem_id, problem, first_source, seq FROM problems ORDER BY seq;
