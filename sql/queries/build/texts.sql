-- Texts of the kept rows (registered as _build_keep(trace_id, ord)), in output order.
SELECT k.ord, t.trace_id, t.thought, t.solution, p.problem
FROM _build_keep k
JOIN traces t   ON t.trace_id = k.trace_id
JOIN problems p ON p.problem_id = t.problem_id
ORDER BY k.ord;
