-- Rejection sampling: each problem's pass rate over its samples (reformatted traces excluded), from their
-- verdicts. A sample is a provenance row (trace_sources): K generated samples count K even when two of them
-- are the same text (one trace_id). Graded = correct | incorrect | no_answer (a sample without an answer fails);
-- undecided verdicts (timeouts, unparseable references) and unverified traces are not counted.
-- pass_rate is NULL when nothing is graded yet (run `distillate curate --stages verify`).
CREATE OR REPLACE VIEW problem_pass_rates AS
SELECT t.problem_id,
       count(*)                                                                   AS n_samples,
       count(*) FILTER (WHERE v.verdict IN ('correct', 'incorrect', 'no_answer'))  AS n_graded,
       count(*) FILTER (WHERE v.verdict = 'correct')                              AS n_correct,
       CASE WHEN count(*) FILTER (WHERE v.verdict IN ('correct', 'incorrect', 'no_answer')) = 0 THEN NULL
            ELSE (count(*) FILTER (WHERE v.verdict = 'correct'))::DOUBLE
                 / count(*) FILTER (WHERE v.verdict IN ('correct', 'incorrect', 'no_answer')) END AS pass_rate
FROM trace_sources ts
JOIN traces t ON t.trace_id = ts.trace_id
LEFT JOIN verdicts v ON v.trace_id = t.trace_id
WHERE t.parent_trace_id IS NULL
GROUP BY t.problem_id;
