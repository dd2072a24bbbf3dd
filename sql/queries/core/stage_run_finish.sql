UPDATE stage_runs SET finished_at = now(), counters = $counters WHERE job_id = $job_id AND stage = $stage;
