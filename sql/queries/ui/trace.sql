-- review app, Trace: one trace with its problem, verdict and signals (side tables read by key, not through
-- the candidates view, so opening a trace costs the same with 1k or 1M traces).
SELECT t.trace_id, t.problem_id, t.thought, t.solution, t.thought_closed, t.finish_reason, t.model,
       t.label_correct, t.parent_trace_id, t.source, t.source_id, t.file, t.line, t.seq,
       p.problem, p.answer AS reference_answer, p.reference_solution,
       v.verdict, v.extracted AS extracted_answer, v.method AS verify_method, v.judged_by_llm,
       s.n_tokens, s.thought_tokens, s.solution_tokens, s.tokenizer,
       coalesce(s.truncated, NOT coalesce(t.thought_closed, TRUE)) AS truncated, s.truncation_reasons,
       s.looping, s.rep_ngram_share, s.n_markers, s.markers_per_1k, s.marker_counts, s.final_answer,
       s.thought_answer, s.answers_agree, s.language_mixed, s.format_ok,
       ps.unsuitable AS unsuitable_problem, ps.unsuitable_reasons,
       d.kind AS duplicate_kind, d.duplicate_of, d.similarity AS duplicate_similarity,
       (SELECT count(*) FROM contamination_matches m WHERE m.problem_id = t.problem_id) > 0 AS contaminated
FROM traces t
JOIN problems p ON p.problem_id = t.problem_id
LEFT JOIN verdicts v ON v.trace_id = t.trace_id
LEFT JOIN trace_signals s ON s.trace_id = t.trace_id
LEFT JOIN problem_signals ps ON ps.problem_id = t.problem_id
LEFT JOIN trace_duplicates d ON d.trace_id = t.trace_id
WHERE t.trace_id = $trace_id;
