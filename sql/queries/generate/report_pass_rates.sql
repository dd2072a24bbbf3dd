-- Rejection sampling: pass-rate distribution over problems with graded samples.
SELECT CASE WHEN pass_rate = 0 THEN '0' WHEN pass_rate <= 0.25 THEN '(0, 0.25]'
            WHEN pass_rate <= 0.5 THEN '(0.25, 0.5]' WHEN pass_rate <= 0.75 THEN '(0.5, 0.75]'
            WHEN pass_rate < 1 THEN '(0.75, 1)' ELSE '1' END AS bucket,
       count(*) AS problems
FROM problem_pass_rates
WHERE pass_rate IS NOT NULL
GROUP BY ALL
ORDER BY min(pass_rate);
