SELECT reason, count(*) AS traces
FROM (SELECT unnest(reasons) AS reason FROM reformat_checks WHERE NOT passed)
GROUP BY reason
ORDER BY traces DESC;
