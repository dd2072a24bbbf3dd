-- Record (or rewrite) one experiment output folder with its experiment.json (experiment/run.py).
DELETE FROM experiments WHERE out_dir = $out_dir;
INSERT INTO experiments (out_dir, name, experiment_file, experiment_sha256, status, started_at, finished_at,
                         record, job_id)
VALUES ($out_dir, $name, $experiment_file, $experiment_sha256, $status, CAST($started_at AS TIMESTAMP),
        CAST($finished_at AS TIMESTAMP), $record, $job_id);
