-- signals stage: upsert one batch (new_signals, new_markers: Arrow tables registered by the stage).
-- The markers of recomputed traces were deleted once before the first batch (signals/clear_markers):
-- a per-batch delete would scan the whole, growing trace_markers table every batch.
INSERT OR REPLACE INTO trace_signals (
       trace_id, signal_version, tokenizer, n_tokens, thought_tokens, solution_tokens, truncated, looping,
       computed_at, config_hash, n_chars, n_lines, n_paragraphs, n_steps, n_markers, markers_per_1k,
       marker_counts, thought_unclosed, no_final_answer, ends_mid_sentence, finish_length, truncation_reasons,
       rep_ngram_share, tail_rep_ngram_share, longest_repeat_words, compression_ratio, n_boxed,
       n_distinct_boxed, final_answer, thought_answer, answers_agree, foreign_script_share, language_mixed,
       has_thought, has_solution, tags_well_formed, format_ok, error)
SELECT trace_id, signal_version, tokenizer, n_tokens, thought_tokens, solution_tokens, truncated, looping,
       now(), config_hash, n_chars, n_lines, n_paragraphs, n_steps, n_markers, markers_per_1k,
       map_from_entries(marker_counts), thought_unclosed, no_final_answer, ends_mid_sentence, finish_length,
       truncation_reasons, rep_ngram_share, tail_rep_ngram_share, longest_repeat_words, compression_ratio,
       n_boxed, n_distinct_boxed, final_answer, thought_answer, answers_agree, foreign_script_share,
       language_mixed, has_thought, has_solution, tags_well_formed, format_ok, error
FROM new_signals;
INSERT INTO trace_markers (trace_id, kind, part, pos, len)
SELECT trace_id, kind, part, pos, len FROM new_markers;
