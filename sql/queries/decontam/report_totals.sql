-- distillate report, decontam section: totals (traces count through their problem).
SELECT (SELECT count(DISTINCT problem_id) FROM contamination_matches) AS contaminated_problems,
       (SELECT count(*) FROM traces t WHERE t.problem_id IN (SELECT problem_id FROM contamination_matches)) AS contaminated_traces,
       (SELECT count(DISTINCT problem_id) FROM decontam_errors) AS errors;
