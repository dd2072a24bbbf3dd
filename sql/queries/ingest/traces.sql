INSERT INTO traces (trace_id, problem_id, thought, solution, thought_closed, finish_reason, model,
                    label_correct, source, source_id, file, line, seq, metadata, parent_trace_id)
SELECT trace_id, problem_id, thought, solution, thought_closed, finish_reason, model,
       label_correct, source, source_id, file, line, seq, CAST(metadata AS JSON), parent_trace_id
FROM _in_traces
WHERE trace_id NOT IN (SELECT trace_id FROM traces);
