-- decontam: (problem, benchmark item) pairs some method already matched (the judge skips them).
SELECT DISTINCT problem_id, benchmark, benchmark_id FROM contamination_matches;
