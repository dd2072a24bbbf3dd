-- A re-ingest of the same file does not quarantine the same line twice.
INSERT INTO quarantine (source, file, line, reason, raw, job_id)
SELECT q.source, q.file, q.line, q.reason, q.raw, $job_id
FROM _in_quarantine q
WHERE NOT EXISTS (SELECT 1 FROM quarantine o WHERE o.source = q.source AND o.file = q.file AND o.line = q.line);
