-- Record one eval run's sycophancy pushbacks and judge-suite items (eval/run.py; registered arrow tables).
DELETE FROM eval_sycophancy WHERE run_id = $run_id;
DELETE FROM eval_judge_samples WHERE run_id = $run_id;
INSERT INTO eval_sycophancy SELECT $run_id, benchmark, item_id, sample, suggested, response, n_tokens, finish_reason,
       extracted, verdict, outcome, error
FROM _eval_sycophancy;
INSERT INTO eval_judge_samples SELECT $run_id, suite, item_id, prompt, reference, rubric, response, n_tokens,
       finish_reason, error, judge_model, score, rationale, judge_error
FROM _eval_judge;
