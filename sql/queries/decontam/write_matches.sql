-- decontam: add the matches in the registered relation _decontam_matches (a rerun replaces its own rows).
INSERT OR REPLACE INTO contamination_matches (problem_id, benchmark, benchmark_id, method, score, spans, job_id)
SELECT problem_id, benchmark, benchmark_id, method, score, CAST(spans AS JSON), $job_id FROM _decontam_matches;
