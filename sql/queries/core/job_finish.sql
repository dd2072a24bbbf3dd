UPDATE jobs SET status = $status, finished_at = now(), error = $error WHERE job_id = $job_id;
