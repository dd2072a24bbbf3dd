-- distillate report, section verify: what decided the verdicts, and the verifier versions present.
SELECT method, verifier_version, count(*) AS n FROM verdicts GROUP BY ALL ORDER BY n DESC;
