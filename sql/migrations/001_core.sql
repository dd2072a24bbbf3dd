-- 001: the catalog's core. Every record is content-addressed (problem_id, trace_id: see curate/ids.py)
-- and keeps its provenance. Side tables written by stages are keyed by those ids and carry a version,
-- so a stage recomputes only what is missing or outdated. Stages may add columns in later migrations.

CREATE TABLE sources (
    source       VARCHAR PRIMARY KEY,
    kind         VARCHAR NOT NULL,          -- traces | problems | generated
    license      VARCHAR,                   -- as declared at ingest (--license), shown in DATACARD.md
    description  VARCHAR,
    created_at   TIMESTAMP NOT NULL DEFAULT current_timestamp
);

-- One row per input file (or HF dataset) per ingest job.
CREATE TABLE source_files (
    source          VARCHAR NOT NULL,
    file            VARCHAR NOT NULL,
    format          VARCHAR NOT NULL,       -- format forced with --format, or 'auto'
    rows_read       BIGINT NOT NULL,        -- non-blank lines / rows seen
    records_new     BIGINT NOT NULL,        -- traces (or problems) added
    records_present BIGINT NOT NULL,        -- already in the catalog
    quarantined     BIGINT NOT NULL,
    job_id          VARCHAR NOT NULL,
    ingested_at     TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE problems (
    problem_id          VARCHAR PRIMARY KEY,   -- hash of the normalized problem text
    problem             VARCHAR NOT NULL,      -- text as first seen
    answer              VARCHAR,               -- reference answer: first non-null seen
    reference_solution  VARCHAR,
    first_source        VARCHAR NOT NULL,
    seq                 BIGINT NOT NULL,       -- global ingest order
    metadata            JSON
);

-- Every (source, record) that carried a problem: provenance and that source's own answer.
CREATE TABLE problem_sources (
    problem_id  VARCHAR NOT NULL,
    source      VARCHAR NOT NULL,
    source_id   VARCHAR NOT NULL,
    file        VARCHAR,
    line        BIGINT,
    answer      VARCHAR,
    PRIMARY KEY (problem_id, source, source_id)
);

CREATE TABLE traces (
    trace_id         VARCHAR PRIMARY KEY,   -- hash of problem_id + thought + solution
    problem_id       VARCHAR NOT NULL,
    thought          VARCHAR,               -- NULL: the record had no separate reasoning
    solution         VARCHAR,               -- NULL: generation stopped before the solution
    thought_closed   BOOLEAN,               -- FALSE: the thought tag was never closed (stopped early)
    finish_reason    VARCHAR,               -- 'stop' | 'length' | ... when the source says
    model            VARCHAR,
    label_correct    BOOLEAN,               -- the source's own correctness label, if any
    parent_trace_id  VARCHAR,               -- set on reformatted traces: the original
    source           VARCHAR NOT NULL,      -- first provenance (all of it in trace_sources)
    source_id        VARCHAR NOT NULL,
    file             VARCHAR,
    line             BIGINT,
    seq              BIGINT NOT NULL,       -- global ingest order: the 'first_seen' policy
    metadata         JSON,
    ingested_at      TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE trace_sources (
    trace_id   VARCHAR NOT NULL,
    source     VARCHAR NOT NULL,
    source_id  VARCHAR NOT NULL,
    file       VARCHAR,
    line       BIGINT,
    PRIMARY KEY (trace_id, source, source_id)
);

-- Input that could not be read: nothing is dropped silently.
CREATE TABLE quarantine (
    source   VARCHAR NOT NULL,
    file     VARCHAR NOT NULL,
    line     BIGINT,
    reason   VARCHAR NOT NULL,
    raw      VARCHAR,                        -- the first 2000 characters of the offending input
    job_id   VARCHAR NOT NULL,
    quarantined_at TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE jobs (
    job_id       VARCHAR PRIMARY KEY,
    command      VARCHAR NOT NULL,
    args         JSON,
    code_version VARCHAR,
    status       VARCHAR NOT NULL,           -- running | ok | failed
    started_at   TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP,
    counters     JSON,
    error        VARCHAR
);

CREATE TABLE stage_runs (
    job_id       VARCHAR NOT NULL,
    stage        VARCHAR NOT NULL,
    version      VARCHAR,
    started_at   TIMESTAMP NOT NULL,
    finished_at  TIMESTAMP,
    counters     JSON
);

-- ---- Side tables of the curation stages (contract columns; stages add more in their migrations) ----

-- signals stage (issue: trace-quality signals)
CREATE TABLE trace_signals (
    trace_id         VARCHAR PRIMARY KEY,
    signal_version   INTEGER NOT NULL,
    tokenizer        VARCHAR,                -- tokenizer name/path, or 'approx:...' when it fell back
    n_tokens         INTEGER,
    thought_tokens   INTEGER,
    solution_tokens  INTEGER,
    truncated        BOOLEAN,
    looping          BOOLEAN,
    computed_at      TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE problem_signals (
    problem_id          VARCHAR PRIMARY KEY,
    signal_version      INTEGER NOT NULL,
    unsuitable          BOOLEAN NOT NULL,
    unsuitable_reasons  VARCHAR[],           -- image, proof, multiple_choice, multi_part, no_reference
    computed_at         TIMESTAMP NOT NULL DEFAULT current_timestamp
);

-- verify stage
CREATE TABLE verdicts (
    trace_id          VARCHAR PRIMARY KEY,
    verifier_version  VARCHAR NOT NULL,
    verdict           VARCHAR NOT NULL,      -- correct | incorrect | no_answer | no_reference | gold_unparseable | pred_unparseable | timeout | error
    extracted         VARCHAR,
    method            VARCHAR,
    judged_by_llm     BOOLEAN NOT NULL DEFAULT FALSE,
    seconds           DOUBLE,
    details           JSON,
    checked_at        TIMESTAMP NOT NULL DEFAULT current_timestamp
);

-- dedup stage: one row per trace that is NOT the kept member of its cluster
CREATE TABLE trace_duplicates (
    trace_id      VARCHAR PRIMARY KEY,
    kind          VARCHAR NOT NULL,          -- exact | near
    duplicate_of  VARCHAR NOT NULL,          -- the kept trace_id
    similarity    DOUBLE,
    cluster_id    VARCHAR,
    policy        VARCHAR
);

-- dedup stage: problems that duplicate each other count as one (canonical) problem
CREATE TABLE problem_clusters (
    problem_id            VARCHAR PRIMARY KEY,
    canonical_problem_id  VARCHAR NOT NULL,
    kind                  VARCHAR NOT NULL,  -- exact | near | semantic
    similarity            DOUBLE
);

-- decontam stage
CREATE TABLE contamination_matches (
    problem_id    VARCHAR NOT NULL,
    benchmark     VARCHAR NOT NULL,
    benchmark_id  VARCHAR NOT NULL,
    method        VARCHAR NOT NULL,          -- exact | ngram | masked | fuzzy | embedding | llm_judge
    score         DOUBLE,
    spans         JSON,
    PRIMARY KEY (problem_id, benchmark, benchmark_id, method)
);

-- Mirror of the append-only review-flag log (flags/flags.jsonl); refreshed at the start of every job.
CREATE TABLE review_flags (
    flag_id     VARCHAR PRIMARY KEY,
    trace_id    VARCHAR NOT NULL,
    label       VARCHAR NOT NULL,            -- good | bad | needs-fix | custom
    reason      VARCHAR,
    note        VARCHAR,
    reviewer    VARCHAR,
    created_at  TIMESTAMP NOT NULL
);

CREATE TABLE builds (
    build_id     VARCHAR PRIMARY KEY,
    name         VARCHAR NOT NULL,
    variant      VARCHAR NOT NULL,           -- '' for the base recipe, else the ablation name
    out_dir      VARCHAR NOT NULL,
    recipe       JSON NOT NULL,
    counts       JSON,
    created_at   TIMESTAMP NOT NULL DEFAULT current_timestamp
);

CREATE TABLE build_rows (
    build_id   VARCHAR NOT NULL,
    trace_id   VARCHAR NOT NULL,
    kept       BOOLEAN NOT NULL,
    reasons    VARCHAR[],
    PRIMARY KEY (build_id, trace_id)
);
