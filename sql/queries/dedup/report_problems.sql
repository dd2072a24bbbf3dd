-- Problem duplicates by kind, and the number of canonical problems they fold into.
SELECT kind, count(*) AS problems, count(DISTINCT canonical_problem_id) AS canonical_problems,
       min(similarity) AS min_similarity
FROM problem_clusters GROUP BY kind ORDER BY kind;
