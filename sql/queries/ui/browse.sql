-- review app, Browse: one page of the candidates that match the filters, with `total` (how many match).
-- Every filter is a parameter and NULL means "no filter"; the app never formats values into SQL.
-- Flags count those written since the snapshot too (_ui_pending_flags: registered by the app from
-- flags/flags.jsonl), so a reviewer sees their own flag at once.
WITH lf AS (
    SELECT trace_id, arg_max(label, created_at) AS label
    FROM (SELECT trace_id, label, created_at FROM review_flags
          UNION ALL SELECT trace_id, label, created_at FROM _ui_pending_flags)
    GROUP BY trace_id
),
f AS (
    -- the candidates view's columns, read from the side tables directly: the view also aggregates pass
    -- rates and flag windows over every trace, which a page of 50 rows does not need
    SELECT t.trace_id, t.problem_id, t.seq, t.source, t.model, s.n_tokens, v.verdict, v.extracted AS extracted_answer,
           coalesce(s.truncated, NOT coalesce(t.thought_closed, TRUE)) AS truncated, coalesce(s.looping, FALSE) AS looping,
           coalesce(ps.unsuitable, FALSE) AS unsuitable_problem, d.kind AS duplicate_kind,
           t.problem_id IN (SELECT problem_id FROM contamination_matches) AS contaminated,
           s.n_markers, s.markers_per_1k, lf.label AS flag_label
    FROM traces t
    LEFT JOIN trace_signals s ON s.trace_id = t.trace_id
    LEFT JOIN verdicts v ON v.trace_id = t.trace_id
    LEFT JOIN trace_duplicates d ON d.trace_id = t.trace_id
    LEFT JOIN problem_signals ps ON ps.problem_id = t.problem_id
    LEFT JOIN lf ON lf.trace_id = t.trace_id
    WHERE ($sources IS NULL OR list_contains($sources, t.source))
      AND ($verdicts IS NULL OR list_contains($verdicts, coalesce(v.verdict, '(none)')))
      AND ($tok_min IS NULL OR s.n_tokens >= $tok_min)
      AND ($tok_max IS NULL OR s.n_tokens <= $tok_max)
      AND ($markers_min IS NULL OR s.n_markers >= $markers_min)
      AND ($marker_kind IS NULL OR coalesce(s.marker_counts[$marker_kind], 0) > 0)
      AND ($truncated IS NULL OR coalesce(s.truncated, NOT coalesce(t.thought_closed, TRUE)) = $truncated)
      AND ($looping IS NULL OR coalesce(s.looping, FALSE) = $looping)
      AND ($unsuitable IS NULL OR coalesce(ps.unsuitable, FALSE) = $unsuitable)
      AND ($not_correct IS NULL OR (v.verdict IS NOT NULL AND v.verdict <> 'correct') = $not_correct)
      AND ($duplicate IS NULL OR (d.duplicate_of IS NOT NULL) = $duplicate)
      AND ($contaminated IS NULL OR (t.problem_id IN (SELECT problem_id FROM contamination_matches)) = $contaminated)
      AND (CASE $flag WHEN 'any' THEN TRUE
                      WHEN 'flagged' THEN coalesce(lf.label <> 'good', FALSE)
                      WHEN 'not_flagged' THEN coalesce(lf.label = 'good', TRUE)
                      WHEN 'reviewed' THEN lf.label IS NOT NULL
                      WHEN 'unreviewed' THEN lf.label IS NULL
                      ELSE lf.label = $flag END)
      AND ($q IS NULL
           OR t.problem_id IN (SELECT problem_id FROM problems WHERE problem ILIKE $q ESCAPE '\')
           OR ($q_traces AND t.trace_id IN (SELECT trace_id FROM traces
                                            WHERE thought ILIKE $q ESCAPE '\' OR solution ILIKE $q ESCAPE '\')))
      AND ($build_id IS NULL OR t.trace_id IN (
              SELECT r.trace_id FROM build_rows r
              WHERE r.build_id = $build_id
                AND CASE $build_reason WHEN '(any)' THEN TRUE WHEN '(kept)' THEN r.kept
                                       WHEN '(dropped)' THEN NOT r.kept
                                       ELSE list_contains(r.reasons, $build_reason) END))
),
pg AS (
    SELECT * FROM f
    ORDER BY CASE $sort WHEN 'tokens_desc' THEN -n_tokens WHEN 'tokens_asc' THEN n_tokens
                        WHEN 'markers_desc' THEN -markers_per_1k ELSE seq END NULLS LAST, seq
    LIMIT $limit OFFSET $offset
)
SELECT pg.trace_id, pg.source, left(p.problem, 140) AS problem, pg.n_tokens, pg.verdict,
       pg.extracted_answer, p.answer AS reference_answer, pg.truncated, pg.looping, pg.duplicate_kind, pg.contaminated,
       pg.n_markers, pg.flag_label, pg.model, pg.seq, (SELECT count(*) FROM f) AS total
FROM pg JOIN problems p ON p.problem_id = pg.problem_id
ORDER BY CASE $sort WHEN 'tokens_desc' THEN -pg.n_tokens WHEN 'tokens_asc' THEN pg.n_tokens
                    WHEN 'markers_desc' THEN -pg.markers_per_1k ELSE pg.seq END NULLS LAST, pg.seq;
