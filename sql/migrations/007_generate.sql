-- 007: generation and reformatting through OpenAI-compatible endpoints (curate/generate).
-- gen_requests is the request journal: one row per logical request (problem x sample, or original trace
-- for a reformat), keyed by a deterministic request_id, so a rerun of the same command skips what is done.
-- Each finished attempt is committed at once: a killed run loses at most its in-flight requests.
CREATE TABLE gen_requests (
    request_id         VARCHAR PRIMARY KEY,   -- hash(kind, problem_id, parent, sample index, model, params, template hash)
    kind               VARCHAR NOT NULL,      -- generate | reformat
    problem_id         VARCHAR NOT NULL,
    parent_trace_id    VARCHAR,               -- reformat: the original trace
    sample_index       INTEGER NOT NULL,
    source             VARCHAR NOT NULL,      -- the source its trace is stored under
    backend            VARCHAR NOT NULL,      -- openai | vllm
    endpoint           VARCHAR,               -- base URL without credentials or query string
    model              VARCHAR NOT NULL,
    params             JSON NOT NULL,         -- sampling parameters as sent
    template_hash      VARCHAR NOT NULL,
    status             VARCHAR NOT NULL,      -- pending | running | completed | dropped | failed
    attempts           INTEGER NOT NULL DEFAULT 0,
    last_error         VARCHAR,               -- the reason of the last failed attempt (final reason when failed)
    errors             JSON,                  -- every failed attempt: [{attempt, kind, status, message, at}]
    finish_reason      VARCHAR,
    latency_s          DOUBLE,                -- wall time of the successful attempt
    total_latency_s    DOUBLE,                -- all attempts, backoff excluded
    prompt_tokens      BIGINT,                -- usage summed over every billed attempt (length retries too)
    completion_tokens  BIGINT,
    reasoning_tokens   BIGINT,
    usage_estimated    BOOLEAN,               -- the server sent no usage: tokens estimated from characters
    cost_usd           DOUBLE,                -- NULL when the price table has no entry for the model
    trace_id           VARCHAR,               -- the stored trace (NULL: failed or dropped)
    job_id             VARCHAR,               -- the last job that worked on it
    created_at         TIMESTAMP NOT NULL DEFAULT current_timestamp,
    updated_at         TIMESTAMP,
    completed_at       TIMESTAMP
);

-- reformat fidelity: one row per reformatted trace; failures are kept (passed = FALSE) with reasons.
CREATE TABLE reformat_checks (
    trace_id           VARCHAR PRIMARY KEY,
    parent_trace_id    VARCHAR NOT NULL,
    request_id         VARCHAR NOT NULL,
    passed             BOOLEAN NOT NULL,
    reasons            VARCHAR[],             -- answer_changed | answer_unverifiable | too_short | too_long | low_overlap | high_overlap | no_solution
    original_answer    VARCHAR,
    new_answer         VARCHAR,
    answer_verdict     VARCHAR,               -- the verifier's verdict of the new answer against the original's
    length_ratio       DOUBLE,                -- characters of the rewrite / characters of the original
    ngram_overlap      DOUBLE,                -- share of the original's word n-grams found in the rewrite
    checked_at         TIMESTAMP NOT NULL DEFAULT current_timestamp
);
