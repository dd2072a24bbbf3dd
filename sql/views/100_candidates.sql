-- The candidates view: one row per trace with every signal, verdict, duplicate, contamination and
-- review result joined in. Recipes' `where` clauses are SQL over these columns (documented in
-- docs/ARCHITECTURE.md); stages that land later add columns here.
CREATE OR REPLACE VIEW candidates AS
SELECT
    t.trace_id,
    t.problem_id,
    coalesce(pc.canonical_problem_id, t.problem_id)      AS canonical_problem_id,
    t.source,
    t.source_id,
    t.model,
    t.seq,
    t.finish_reason,
    t.label_correct,
    p.answer                                             AS reference_answer,
    s.tokenizer,
    s.n_tokens,
    s.thought_tokens,
    s.solution_tokens,
    coalesce(s.truncated, NOT coalesce(t.thought_closed, TRUE)) AS truncated,
    coalesce(s.looping, FALSE)                           AS looping,
    v.verdict,
    v.extracted                                          AS extracted_answer,
    d.kind                                               AS duplicate_kind,
    d.duplicate_of,
    d.similarity                                         AS duplicate_similarity,
    coalesce(c.n_matches, 0) > 0                         AS contaminated,
    c.benchmarks                                         AS contaminated_benchmarks,
    coalesce(ps.unsuitable, FALSE)                       AS unsuitable_problem,
    ps.unsuitable_reasons,
    coalesce(f.flagged, FALSE)                           AS flagged,
    f.label                                              AS flag_label
FROM traces t
JOIN problems p              ON p.problem_id = t.problem_id
LEFT JOIN problem_clusters pc ON pc.problem_id = t.problem_id
LEFT JOIN trace_signals s    ON s.trace_id = t.trace_id
LEFT JOIN problem_signals ps ON ps.problem_id = t.problem_id
LEFT JOIN verdicts v         ON v.trace_id = t.trace_id
LEFT JOIN trace_duplicates d ON d.trace_id = t.trace_id
LEFT JOIN problem_contamination c ON c.problem_id = t.problem_id
LEFT JOIN trace_flags f      ON f.trace_id = t.trace_id;
