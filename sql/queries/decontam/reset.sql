-- decontam: a benchmark whose content or matcher configuration changed is rescanned from scratch:
-- its matches, items and state are replaced. Items come from the registered relation _decontam_items.
DELETE FROM contamination_matches WHERE benchmark = $benchmark;
DELETE FROM decontam_errors WHERE benchmark = $benchmark;
DELETE FROM benchmark_items WHERE benchmark = $benchmark;
INSERT INTO benchmark_items (benchmark, benchmark_id, problem, answer)
SELECT benchmark, benchmark_id, problem, answer FROM _decontam_items WHERE benchmark = $benchmark;
DELETE FROM decontam_benchmarks WHERE benchmark = $benchmark;
INSERT INTO decontam_benchmarks (benchmark, origin, n_items, fingerprint, config_key, scanned_seq,
                                 scanned_trace_seq, scanned_at, job_id)
VALUES ($benchmark, $origin, $n_items, $fingerprint, $config_key, -1, -1, NULL, $job_id);
