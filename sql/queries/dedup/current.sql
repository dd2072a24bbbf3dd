-- The stage's current outputs (to report what a run changed).
SELECT 'trace' AS k, trace_id AS id, duplicate_of AS target, kind, round(similarity, 6) AS sim, policy
FROM trace_duplicates
UNION ALL
SELECT 'problem', problem_id, canonical_problem_id, kind, round(similarity, 6), NULL FROM problem_clusters;
