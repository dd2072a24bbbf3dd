-- The generation journal per source (Transparency Index): who generated the traces, with which prompt
-- templates and sampling parameters, and how the requests ended.
SELECT source, kind,
       count(*) AS requests,
       count(*) FILTER (WHERE status = 'completed') AS completed,
       count(*) FILTER (WHERE status = 'failed') AS failed,
       count(*) FILTER (WHERE status = 'dropped') AS dropped,
       list(DISTINCT model ORDER BY model) AS models,
       list(DISTINCT template_hash ORDER BY template_hash) AS templates,
       list(DISTINCT json_extract_string(params, '$.temperature') ORDER BY 1)
           FILTER (WHERE json_extract_string(params, '$.temperature') IS NOT NULL) AS temperatures,
       list(DISTINCT json_extract_string(params, '$.top_p') ORDER BY 1)
           FILTER (WHERE json_extract_string(params, '$.top_p') IS NOT NULL) AS top_ps,
       list(DISTINCT json_extract_string(params, '$.max_tokens') ORDER BY 1)
           FILTER (WHERE json_extract_string(params, '$.max_tokens') IS NOT NULL) AS max_tokens
FROM gen_requests
GROUP BY source, kind
ORDER BY source, kind;
