-- Texts of the traces or problems listed in the registered table need_ids(item_id), for verification.
SELECT t.trace_id AS item_id, coalesce(t.thought, '') || chr(10) || coalesce(t.solution, '') AS text
FROM traces t JOIN need_ids n ON n.item_id = t.trace_id
WHERE $item_kind = 'trace'
UNION ALL
SELECT p.problem_id AS item_id, p.problem AS text
FROM problems p JOIN need_ids n ON n.item_id = p.problem_id
WHERE $item_kind = 'problem';
