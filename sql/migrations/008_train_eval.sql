-- 008: training runs and evaluation runs (train/, eval/). Written at the end of each run in a short job;
-- the review app reads them. Texts of eval samples stay in the run's samples.jsonl too.

CREATE TABLE train_runs (
    run_name               VARCHAR NOT NULL,
    job_id                 VARCHAR NOT NULL,
    build_dir              VARCHAR NOT NULL,
    build_manifest_sha256  VARCHAR NOT NULL,   -- sha256 of the build's manifest.json trained on
    build_recipe_sha256    VARCHAR,
    base_model             VARCHAR NOT NULL,
    run_dir                VARCHAR NOT NULL,
    final_model            VARCHAR NOT NULL,   -- full weights of the last stage
    stages                 JSON NOT NULL,      -- per stage: data, rows, steps, first/last loss, seconds
    settings               JSON NOT NULL,      -- recipe keys and flags as given
    created_at             TIMESTAMP NOT NULL DEFAULT current_timestamp,
    PRIMARY KEY (run_name, job_id)
);

CREATE TABLE eval_runs (
    run_id       VARCHAR PRIMARY KEY,
    job_id       VARCHAR NOT NULL,
    model        VARCHAR NOT NULL,
    backend      VARCHAR NOT NULL,             -- vllm | openai | transformers
    out_dir      VARCHAR NOT NULL,             -- results.json, samples.jsonl, plots
    config       JSON NOT NULL,                -- n, max_tokens, budgets, temperature, ...
    results      JSON NOT NULL,                -- results.json's per-benchmark metrics
    created_at   TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE eval_results (
    run_id       VARCHAR NOT NULL,
    benchmark    VARCHAR NOT NULL,
    budget       BIGINT,                       -- NULL: the full generation; else cut at this many tokens
    n_problems   BIGINT NOT NULL,
    n_samples    BIGINT NOT NULL,
    accuracy     DOUBLE NOT NULL,              -- mean over problems of the fraction of correct samples
    mean_tokens  DOUBLE NOT NULL             -- one row per (run_id, benchmark, budget)
);

CREATE TABLE eval_samples (
    run_id         VARCHAR NOT NULL,
    benchmark      VARCHAR NOT NULL,
    item_id        VARCHAR NOT NULL,
    sample         INTEGER NOT NULL,
    problem_id     VARCHAR NOT NULL,           -- curate/ids.py problem_id of the benchmark problem
    response       VARCHAR,
    n_tokens       BIGINT,
    finish_reason  VARCHAR,
    extracted      VARCHAR,
    verdict        VARCHAR,
    correct        BOOLEAN,
    error          VARCHAR,                    -- a failed request / generation, recorded not raised
    budgets        JSON,                       -- {budget: {correct, extracted, forced}}
    PRIMARY KEY (run_id, benchmark, item_id, sample)
);
