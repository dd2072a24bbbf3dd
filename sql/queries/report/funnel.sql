-- distillate report: the funnel. Each step removes the traces it flags from what is left after the steps
-- before it (order: signals, verify, dedup, decontam, review); `ran` says whether that stage has rows.
-- $source: only that source's traces (NULL: all); the review app's Overview shows it per source.
WITH c AS (SELECT * FROM candidates WHERE $source IS NULL OR source = $source),
ran AS (
    SELECT (SELECT count(*) FROM trace_signals) > 0   AS signals,
           (SELECT count(*) FROM problem_signals) > 0 AS problem_signals,
           (SELECT count(*) FROM verdicts) > 0        AS verify,
           (SELECT count(*) FROM stage_runs WHERE stage = 'dedup' AND finished_at IS NOT NULL) > 0 AS dedup,
           (SELECT count(*) FROM stage_runs WHERE stage = 'decontam' AND finished_at IS NOT NULL) > 0 AS decontam,
           (SELECT count(*) FROM review_flags) > 0    AS review
),
steps AS (
    SELECT 1 AS ord, 'truncated' AS step, 'stats' AS stage, (SELECT signals FROM ran) AS ran,
           count_if(truncated) AS flagged, count_if(truncated) AS removed FROM c
    UNION ALL SELECT 2, 'looping', 'stats', (SELECT signals FROM ran), count_if(looping),
           count_if(looping AND NOT truncated) FROM c
    UNION ALL SELECT 3, 'unsuitable_problem', 'stats', (SELECT problem_signals FROM ran), count_if(unsuitable_problem),
           count_if(unsuitable_problem AND NOT (truncated OR looping)) FROM c
    UNION ALL SELECT 4, 'not_correct', 'verify', (SELECT verify FROM ran), count_if(verdict IS NOT NULL AND verdict <> 'correct'),
           count_if(verdict IS NOT NULL AND verdict <> 'correct' AND NOT (truncated OR looping OR unsuitable_problem)) FROM c
    UNION ALL SELECT 5, 'duplicate', 'dedup', (SELECT dedup FROM ran), count_if(duplicate_of IS NOT NULL),
           count_if(duplicate_of IS NOT NULL AND NOT (truncated OR looping OR unsuitable_problem
                    OR coalesce(verdict <> 'correct', FALSE))) FROM c
    UNION ALL SELECT 6, 'contaminated', 'decontam', (SELECT decontam FROM ran), count_if(contaminated),
           count_if(contaminated AND NOT (truncated OR looping OR unsuitable_problem
                    OR coalesce(verdict <> 'correct', FALSE) OR duplicate_of IS NOT NULL)) FROM c
    UNION ALL SELECT 7, 'flagged', 'review', (SELECT review FROM ran), count_if(flagged),
           count_if(flagged AND NOT (truncated OR looping OR unsuitable_problem
                    OR coalesce(verdict <> 'correct', FALSE) OR duplicate_of IS NOT NULL OR contaminated)) FROM c
)
SELECT ord, step, stage, ran, flagged, removed,
       (SELECT count(*) FROM c) - sum(removed) OVER (ORDER BY ord) AS remaining
FROM steps
ORDER BY ord;
