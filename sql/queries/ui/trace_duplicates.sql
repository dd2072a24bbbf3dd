-- review app, Trace: the near/exact duplicates of a trace in both directions, with their texts for a diff.
SELECT d.trace_id AS other_id, 'duplicate of this trace' AS relation, d.kind, d.similarity, t.source,
       t.thought, t.solution
FROM trace_duplicates d JOIN traces t ON t.trace_id = d.trace_id
WHERE d.duplicate_of = $trace_id
UNION ALL
SELECT d.duplicate_of, 'kept copy (this trace duplicates it)', d.kind, d.similarity, t.source,
       t.thought, t.solution
FROM trace_duplicates d JOIN traces t ON t.trace_id = d.duplicate_of
WHERE d.trace_id = $trace_id
ORDER BY similarity DESC NULLS LAST
LIMIT 20;
