-- verify stage: upsert the verdicts of one batch (new_verdicts: an Arrow table registered by the stage).
INSERT OR REPLACE INTO verdicts (trace_id, verifier_version, verdict, extracted, method, judged_by_llm, seconds,
                                 details, thought_answer, gold_normalized, pred_normalized, reference_answer,
                                 judge_requested, checked_at)
SELECT trace_id, verifier_version, verdict, extracted, method, judged_by_llm, seconds, details::JSON,
       thought_answer, gold_normalized, pred_normalized, reference_answer, judge_requested, now()
FROM new_verdicts;
