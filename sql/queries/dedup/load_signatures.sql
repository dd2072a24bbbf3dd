-- Every signature of one kind, with ingest order (first_seen) and the verdict (verified_first).
SELECT s.item_id, s.exact_hash, s.n_chars, s.n_shingles, s.numbers_hash, s.signature,
       coalesce(t.seq, p.seq) AS seq,
       coalesce(v.verdict = 'correct', FALSE) AS verified
FROM dedup_signatures s
LEFT JOIN traces t   ON $item_kind = 'trace' AND t.trace_id = s.item_id
LEFT JOIN problems p ON $item_kind = 'problem' AND p.problem_id = s.item_id
LEFT JOIN verdicts v ON v.trace_id = s.item_id
WHERE s.item_kind = $item_kind AND s.config_key = $config_key
  AND coalesce(t.seq, p.seq) IS NOT NULL
ORDER BY seq;
