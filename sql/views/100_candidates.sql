-- The candidates view: one row per trace with every signal, verdict, duplicate, contamination and
-- review result joined in. Recipes' `where` clauses are SQL over these columns (documented in
-- docs/build.md); stages that land later add columns here.
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
    length(coalesce(t.thought, '')) + length(coalesce(t.solution, '')) AS n_chars,
    t.thought IS NOT NULL                                AS has_thought,
    t.solution IS NOT NULL                               AS has_solution,
    coalesce(t.metadata->>'$.level', t.metadata->>'$.difficulty',
             p.metadata->>'$.level', p.metadata->>'$.difficulty') AS difficulty,
    p.answer                                             AS reference_answer,
    s.tokenizer,
    s.n_tokens,
    s.thought_tokens,
    s.solution_tokens,
    coalesce(s.truncated, NOT coalesce(t.thought_closed, TRUE)) AS truncated,
    coalesce(s.looping, FALSE)                           AS looping,
    s.truncation_reasons,
    s.n_markers,
    s.markers_per_1k,
    s.marker_counts,
    s.rep_ngram_share,
    s.compression_ratio,
    s.n_boxed,
    s.answers_agree,
    s.foreign_script_share,
    coalesce(s.language_mixed, FALSE)                    AS language_mixed,
    s.format_ok,
    v.verdict,
    v.extracted                                          AS extracted_answer,
    v.method                                             AS verify_method,
    coalesce(v.judged_by_llm, FALSE)                     AS judged_by_llm,
    v.thought_answer,
    d.kind                                               AS duplicate_kind,
    d.duplicate_of,
    d.similarity                                         AS duplicate_similarity,
    d.cluster_id                                         AS duplicate_cluster,
    coalesce(c.n_matches, 0) > 0                         AS contaminated,
    c.benchmarks                                         AS contaminated_benchmarks,
    coalesce(ps.unsuitable, FALSE)                       AS unsuitable_problem,
    ps.unsuitable_reasons,
    coalesce(f.flagged, FALSE)                           AS flagged,
    f.label                                              AS flag_label,
    t.parent_trace_id,
    pr.pass_rate,                                        -- rejection sampling: the problem's pass rate (difficulty)
    pr.n_graded                                          AS pass_rate_samples,
    rc.passed                                            AS reformat_passed,  -- NULL: not a reformatted trace
    rc.reasons                                           AS reformat_reasons
FROM traces t
JOIN problems p              ON p.problem_id = t.problem_id
LEFT JOIN problem_clusters pc ON pc.problem_id = t.problem_id
LEFT JOIN trace_signals s    ON s.trace_id = t.trace_id
LEFT JOIN problem_signals ps ON ps.problem_id = t.problem_id
LEFT JOIN verdicts v         ON v.trace_id = t.trace_id
LEFT JOIN trace_duplicates d ON d.trace_id = t.trace_id
LEFT JOIN problem_contamination c ON c.problem_id = t.problem_id
LEFT JOIN trace_flags f      ON f.trace_id = t.trace_id
LEFT JOIN problem_pass_rates pr ON pr.problem_id = t.problem_id
LEFT JOIN reformat_checks rc ON rc.trace_id = t.trace_id;
