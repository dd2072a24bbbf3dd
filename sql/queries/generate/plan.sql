-- Add the requests of a run to the journal; requests already there keep their status (a rerun resumes).
INSERT OR IGNORE INTO gen_requests (request_id, kind, problem_id, parent_trace_id, sample_index, source, backend,
                                    endpoint, model, params, template_hash, template_name, status, job_id, updated_at)
SELECT request_id, kind, problem_id, parent_trace_id, sample_index, source, backend,
       endpoint, model, CAST(params AS JSON), template_hash, template_name, 'pending', $job_id, current_timestamp
FROM _gen_plan;
