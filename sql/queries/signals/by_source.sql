-- report (signals section): per-source distributions (the trace's first source).
SELECT t.source,
       count(*)                                                  AS traces,
       count_if(s.truncated)                                     AS truncated,
       count_if(s.looping)                                       AS looping,
       round(avg(s.truncated::INTEGER), 4)                       AS truncated_rate,
       round(avg(s.looping::INTEGER), 4)                         AS looping_rate,
       round(avg(s.language_mixed::INTEGER), 4)                  AS language_mixed_rate,
       count_if(ps.unsuitable)                                   AS unsuitable_problem,
       quantile_cont(s.n_tokens, [0.1, 0.5, 0.9])                AS token_quantiles,
       max(s.n_tokens)                                           AS max_tokens,
       round(avg(s.markers_per_1k), 3)                           AS markers_per_1k,
       round(avg(s.rep_ngram_share), 4)                          AS rep_ngram_share
FROM trace_signals s
JOIN traces t ON t.trace_id = s.trace_id
LEFT JOIN problem_signals ps ON ps.problem_id = t.problem_id
GROUP BY t.source
ORDER BY t.source;
