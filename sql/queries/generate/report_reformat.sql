-- Reformat fidelity: passed / failed and each failure reason.
SELECT count(*) AS checked, count(*) FILTER (WHERE passed) AS passed,
       count(*) FILTER (WHERE NOT passed) AS failed,
       avg(length_ratio) AS mean_length_ratio, avg(ngram_overlap) AS mean_ngram_overlap
FROM reformat_checks;
