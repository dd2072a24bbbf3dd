INSERT OR REPLACE INTO reformat_checks (trace_id, parent_trace_id, request_id, passed, reasons, original_answer,
                                        new_answer, answer_verdict, length_ratio, ngram_overlap)
SELECT trace_id, parent_trace_id, request_id, passed, reasons, original_answer, new_answer, answer_verdict,
       length_ratio, ngram_overlap
FROM _gen_checks;
