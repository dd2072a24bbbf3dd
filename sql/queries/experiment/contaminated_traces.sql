-- Traces whose problem matched a benchmark, with those benchmarks (a size subset's decontamination counts).
SELECT trace_id, contaminated_benchmarks AS benchmarks FROM candidates WHERE contaminated;
