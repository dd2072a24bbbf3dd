SELECT count(*) FILTER (WHERE n_graded > 0) AS problems_graded,
       count(*) FILTER (WHERE n_samples > 0 AND n_graded = 0) AS problems_ungraded,
       avg(pass_rate) AS mean_pass_rate,
       coalesce(sum(n_samples), 0) AS samples, coalesce(sum(n_graded), 0) AS graded
FROM problem_pass_rates;
