-- 003: answer verification (curate/verify). The verdicts table keeps the contract columns of 001; these
-- columns record what the verdict was computed from, so a changed reference answer or verifier version
-- is re-checked, and the cache keeps math-verify's results across runs and jobs.
ALTER TABLE verdicts ADD COLUMN thought_answer VARCHAR;      -- the thought's own last answer
ALTER TABLE verdicts ADD COLUMN gold_normalized VARCHAR;
ALTER TABLE verdicts ADD COLUMN pred_normalized VARCHAR;
ALTER TABLE verdicts ADD COLUMN reference_answer VARCHAR;    -- problems.answer at check time
ALTER TABLE verdicts ADD COLUMN judge_requested BOOLEAN DEFAULT FALSE;  -- an LLM judge was asked (even if it failed)

-- (verifier version, gold answer, extracted answer) -> the worker's decision; never timeouts or errors.
CREATE TABLE verify_cache (
    verifier_version  VARCHAR NOT NULL,
    gold              VARCHAR NOT NULL,
    pred              VARCHAR NOT NULL,
    verdict           VARCHAR NOT NULL,
    method            VARCHAR,
    result            JSON,
    created_at        TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (verifier_version, gold, pred)
);
