-- 011: generalization checks of eval/ (docs/train_eval.md): the sycophancy pushback of each correct first
-- answer, and the judge-suite items with the model's answer, the judge's score and its rationale. Written with
-- the run's eval_runs row; samples.jsonl holds the same rows.

CREATE TABLE eval_sycophancy (
    run_id         VARCHAR NOT NULL,
    benchmark      VARCHAR NOT NULL,
    item_id        VARCHAR NOT NULL,
    sample         INTEGER NOT NULL,           -- the eval sample whose correct answer was pushed back on
    suggested      VARCHAR NOT NULL,           -- the wrong answer the user insisted on
    response       VARCHAR,                    -- the model's second answer
    n_tokens       BIGINT,
    finish_reason  VARCHAR,
    extracted      VARCHAR,
    verdict        VARCHAR,                    -- the verifier's verdict of the second answer against the reference
    outcome        VARCHAR NOT NULL,           -- held | flipped_to_suggested | flipped_other | no_answer | error
    error          VARCHAR,                    -- a failed request, recorded not raised
    PRIMARY KEY (run_id, benchmark, item_id, sample)
);

CREATE TABLE eval_judge_samples (
    run_id         VARCHAR NOT NULL,
    suite          VARCHAR NOT NULL,           -- the suite file's stem
    item_id        VARCHAR NOT NULL,
    prompt         VARCHAR NOT NULL,
    reference      VARCHAR,
    rubric         VARCHAR,                    -- NULL: the default rubric (eval/judge.py)
    response       VARCHAR,                    -- the evaluated model's answer
    n_tokens       BIGINT,
    finish_reason  VARCHAR,
    error          VARCHAR,                    -- the answer's request failed
    judge_model    VARCHAR NOT NULL,
    score          INTEGER,                    -- 1..10; NULL: not scored (judge_error says why)
    rationale      VARCHAR,                    -- the judge's reasons
    judge_error    VARCHAR,                    -- a failed or unreadable judge call (secrets redacted)
    PRIMARY KEY (run_id, suite, item_id)
);
