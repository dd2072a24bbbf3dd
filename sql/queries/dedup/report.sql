-- Per source: traces, exact and near duplicates among them.
SELECT t.source,
       count(*) AS traces,
       count(*) FILTER (WHERE d.kind = 'exact') AS exact_duplicates,
       count(*) FILTER (WHERE d.kind = 'near') AS near_duplicates
FROM traces t LEFT JOIN trace_duplicates d ON d.trace_id = t.trace_id
GROUP BY t.source ORDER BY t.source;
