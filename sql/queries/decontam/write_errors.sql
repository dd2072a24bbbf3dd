-- decontam: per-problem failures of this scan (from the registered relation _decontam_errors).
INSERT INTO decontam_errors (problem_id, benchmark, error, job_id)
SELECT problem_id, benchmark, error, $job_id FROM _decontam_errors;
