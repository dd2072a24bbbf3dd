-- distillate report, decontam section: every scanned benchmark with its totals.
SELECT d.benchmark, d.origin, d.n_items, d.fingerprint, d.scanned_at,
       (SELECT count(DISTINCT m.problem_id) FROM contamination_matches m WHERE m.benchmark = d.benchmark) AS problems,
       (SELECT count(DISTINCT m.benchmark_id) FROM contamination_matches m WHERE m.benchmark = d.benchmark) AS items_matched
FROM decontam_benchmarks d ORDER BY d.benchmark;
