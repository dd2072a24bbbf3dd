-- distillate report: per-source counts. A problem counts for every source that carried it.
WITH names AS (
    SELECT source FROM sources
    UNION SELECT DISTINCT source FROM quarantine
)
SELECT
    n.source,
    (SELECT count(DISTINCT problem_id) FROM problem_sources ps WHERE ps.source = n.source) AS problems,
    (SELECT count(DISTINCT trace_id) FROM trace_sources ts WHERE ts.source = n.source) AS traces,
    (SELECT count(*) FROM quarantine q WHERE q.source = n.source)                          AS quarantined
FROM names n
ORDER BY n.source;
