-- decontam: problems ingested after a benchmark's watermark, in ingest order.
SELECT problem_id, problem, seq FROM problems WHERE seq > $after AND seq <= $upto ORDER BY seq;
