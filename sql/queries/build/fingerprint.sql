-- A content hash of the candidates view: same catalog state (as a build sees it), same fingerprint.
-- trace_id / problem_id are content hashes, so this covers the texts too.
SELECT md5(coalesce(string_agg(md5(CAST(c AS VARCHAR)), '' ORDER BY c.trace_id), '')) AS fingerprint
FROM candidates c;
