-- Every benchmark the catalog was scanned against, zero matches included (the Transparency Index reads
-- this until manifest.json records its own list): fingerprint, items, matched problems and items, methods.
SELECT d.benchmark, d.fingerprint, d.n_items AS items,
       count(DISTINCT m.problem_id) AS matched_problems, count(DISTINCT m.benchmark_id) AS matched_items,
       CAST(json_extract(d.config_key, '$.methods') AS VARCHAR[]) AS methods,
       d.scanned_at
FROM decontam_benchmarks d LEFT JOIN contamination_matches m ON m.benchmark = d.benchmark
GROUP BY d.benchmark, d.fingerprint, d.n_items, d.config_key, d.scanned_at
ORDER BY d.benchmark;
