-- Ids in the incoming batch that the catalog does not have yet (for the new / already-present counts).
SELECT problem_id FROM _in_problems WHERE problem_id NOT IN (SELECT problem_id FROM problems)
UNION ALL
SELECT trace_id FROM _in_traces WHERE trace_id NOT IN (SELECT trace_id FROM traces);
