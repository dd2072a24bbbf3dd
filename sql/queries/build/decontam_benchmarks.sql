-- Every benchmark the decontam stage scanned (decontam_benchmarks: content fingerprint, items, the methods
-- of the scan, when), with its matched catalog problems and items (all candidates, before any recipe);
-- zero-match benchmarks included. A benchmark with matches but no scan record (matches written by other
-- means) is listed too, with the methods that matched and no fingerprint.
WITH m AS (
    SELECT benchmark, count(DISTINCT problem_id) AS matched_problems,
           count(DISTINCT benchmark_id) AS matched_items, list(DISTINCT method ORDER BY method) AS matched_methods
    FROM contamination_matches GROUP BY benchmark
)
SELECT coalesce(d.benchmark, m.benchmark) AS benchmark, d.fingerprint, d.origin, d.n_items AS items,
       coalesce(m.matched_problems, 0) AS matched_problems, coalesce(m.matched_items, 0) AS matched_items,
       coalesce(list_sort(CAST(json_extract(d.config_key, '$.methods') AS VARCHAR[])), m.matched_methods) AS methods,
       strftime(d.scanned_at, '%Y-%m-%dT%H:%M:%S') AS scanned_at
FROM decontam_benchmarks d FULL OUTER JOIN m ON m.benchmark = d.benchmark
ORDER BY 1;
