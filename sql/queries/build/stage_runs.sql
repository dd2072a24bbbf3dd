-- The latest run of each curation stage (for the data card's checklist).
SELECT stage, version FROM (
    SELECT *, row_number() OVER (PARTITION BY stage ORDER BY started_at DESC) AS rn FROM stage_runs
    WHERE finished_at IS NOT NULL
) WHERE rn = 1 ORDER BY stage;
