INSERT INTO stage_runs (job_id, stage, version, started_at) VALUES ($job_id, $stage, $version, now());
