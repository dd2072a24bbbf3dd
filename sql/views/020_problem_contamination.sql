-- Per problem: is it contaminated, and by which benchmark items (for builds and the review app).
CREATE OR REPLACE VIEW problem_contamination AS
SELECT problem_id,
       count(*) AS n_matches,
       list(DISTINCT benchmark ORDER BY benchmark) AS benchmarks,
       max(score) AS max_score
FROM contamination_matches
GROUP BY problem_id;
