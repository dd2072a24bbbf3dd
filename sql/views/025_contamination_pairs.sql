-- Each contamination match with both texts: what the review app shows side by side (spans are character
-- offsets: {"problem": [[start, end], ...], "benchmark": [[start, end], ...]}; trace matches add trace_id).
CREATE OR REPLACE VIEW contamination_pairs AS
SELECT m.problem_id,
       p.problem,
       m.benchmark,
       m.benchmark_id,
       b.problem  AS benchmark_problem,
       b.answer   AS benchmark_answer,
       m.method,
       m.score,
       m.spans
FROM contamination_matches m
JOIN problems p ON p.problem_id = m.problem_id
LEFT JOIN benchmark_items b ON b.benchmark = m.benchmark AND b.benchmark_id = m.benchmark_id;
