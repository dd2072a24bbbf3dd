-- decontam: move a benchmark's watermarks to what this scan covered (job_id: the last job that scanned it).
UPDATE decontam_benchmarks
SET scanned_seq = $upto, scanned_trace_seq = $upto_traces, scanned_at = now(), job_id = $job_id
WHERE benchmark = $benchmark AND (scanned_seq <> $upto OR scanned_trace_seq <> $upto_traces);
