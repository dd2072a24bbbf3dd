-- Replace the stage's outputs with the tables registered by the dedup stage (new_dups, new_clusters,
-- new_problem_clusters); the stage compares old and new first and reports what changed.
DELETE FROM trace_duplicates;
INSERT INTO trace_duplicates (trace_id, kind, duplicate_of, similarity, cluster_id, policy)
SELECT trace_id, kind, duplicate_of, similarity, cluster_id, policy FROM new_dups;
DELETE FROM trace_clusters;
INSERT INTO trace_clusters (trace_id, cluster_id, exact_hash, n_chars, seq)
SELECT trace_id, cluster_id, exact_hash, n_chars, seq FROM new_clusters;
DELETE FROM problem_clusters;
INSERT INTO problem_clusters (problem_id, canonical_problem_id, kind, similarity)
SELECT problem_id, canonical_problem_id, kind, similarity FROM new_problem_clusters;
