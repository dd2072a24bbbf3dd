-- signals stage: upsert problem signals (new_problem_signals: an Arrow table registered by the stage).
INSERT OR REPLACE INTO problem_signals (problem_id, signal_version, unsuitable, unsuitable_reasons, computed_at,
       config_hash, is_image, is_proof, is_multiple_choice, is_multi_part, no_reference, evidence)
SELECT problem_id, signal_version, unsuitable, unsuitable_reasons, now(), config_hash,
       is_image, is_proof, is_multiple_choice, is_multi_part, no_reference, evidence::JSON
FROM new_problem_signals;
