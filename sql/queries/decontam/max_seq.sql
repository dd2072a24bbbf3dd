-- decontam: the current end of the catalog (problems, traces): what a scan covers.
SELECT (SELECT coalesce(max(seq), -1) FROM problems) AS problems,
       (SELECT coalesce(max(seq), -1) FROM traces)   AS traces;
