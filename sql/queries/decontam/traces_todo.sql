-- decontam (with traces): traces ingested after a watermark; the text scanned is thought + solution.
SELECT trace_id, problem_id, concat_ws(chr(10), thought, solution) AS text, seq
FROM traces WHERE seq > $after AND seq <= $upto ORDER BY seq;
