-- report (signals section): catalog-wide counts and token quantiles. Also used by the review app.
SELECT
    (SELECT count(*) FROM traces)                                            AS traces,
    count(*)                                                                 AS with_signals,
    count_if(s.truncated)                                                    AS truncated,
    count_if(s.thought_unclosed)                                             AS thought_unclosed,
    count_if(s.finish_length)                                                AS finish_length,
    count_if(list_contains(s.truncation_reasons, 'mid_sentence_no_answer'))  AS mid_sentence_no_answer,
    count_if(s.looping)                                                      AS looping,
    count_if(s.language_mixed)                                               AS language_mixed,
    count_if(NOT s.format_ok)                                                AS format_bad,
    count_if(s.no_final_answer)                                              AS no_final_answer,
    count_if(s.answers_agree = FALSE)                                        AS answers_disagree,
    count_if(s.error IS NOT NULL)                                            AS errors,
    count_if(ps.unsuitable)                                                  AS unsuitable_problem,
    (SELECT count_if(unsuitable) FROM problem_signals)                       AS unsuitable_problems,
    (SELECT count(*) FROM problem_signals)                                   AS problems_with_signals,
    sum(s.n_markers)                                                         AS markers,
    round(avg(s.markers_per_1k), 3)                                          AS markers_per_1k_mean,
    quantile_cont(s.n_tokens, [0.1, 0.25, 0.5, 0.75, 0.9, 0.99])             AS token_quantiles,
    max(s.n_tokens)                                                          AS max_tokens,
    list(DISTINCT s.tokenizer)                                               AS tokenizers
FROM trace_signals s
JOIN traces t ON t.trace_id = s.trace_id
LEFT JOIN problem_signals ps ON ps.problem_id = t.problem_id;
