-- shards: trace shards (i of $n by the first 8 hex digits of trace_id) with their item count and fingerprint.
SELECT ('0x' || substr(trace_id, 2, 8))::UBIGINT % $n AS shard, count(*) AS items,
       bit_xor(('0x' || substr(trace_id, 10, 12))::UBIGINT) AS fp
FROM traces GROUP BY 1;
