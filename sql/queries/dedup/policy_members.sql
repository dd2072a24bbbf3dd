-- Every member of every trace duplicate cluster with what the keep policies look at.
SELECT c.trace_id, c.cluster_id, c.exact_hash, c.n_chars, c.seq,
       coalesce(v.verdict = 'correct', FALSE) AS verified
FROM trace_clusters c LEFT JOIN verdicts v ON v.trace_id = c.trace_id
ORDER BY c.cluster_id, c.seq;
