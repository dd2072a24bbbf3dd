INSERT INTO jobs (job_id, command, args, code_version, status, started_at)
VALUES ($job_id, $command, $args, $code_version, 'running', now());
