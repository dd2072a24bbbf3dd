-- decontam: the scan state of every benchmark.
SELECT benchmark, origin, n_items, fingerprint, config_key, scanned_seq, scanned_trace_seq
FROM decontam_benchmarks;
