-- Versions of the stage results a build read (lineage for the manifest).
SELECT 'signals' AS stage, CAST(signal_version AS VARCHAR) AS version, count(*) AS n FROM trace_signals GROUP BY 2
UNION ALL SELECT 'problem_signals', CAST(signal_version AS VARCHAR), count(*) FROM problem_signals GROUP BY 2
UNION ALL SELECT 'verify', verifier_version, count(*) FROM verdicts GROUP BY 2
UNION ALL SELECT 'dedup', coalesce(policy, ''), count(*) FROM trace_duplicates GROUP BY 2
UNION ALL SELECT 'decontam', method, count(*) FROM contamination_matches GROUP BY 2
UNION ALL SELECT 'review_flags', label, count(*) FROM review_flags GROUP BY 2
ORDER BY 1, 2;
