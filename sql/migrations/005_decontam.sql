-- 005: decontamination. Benchmark items are stored so the review app can show a flagged problem beside
-- its benchmark item and so a scan is reproducible; decontam_benchmarks keeps, per benchmark, the content
-- fingerprint and matcher configuration of its last scan and how far the catalog was scanned (problem
-- and trace ingest order), so adding a benchmark scans only it and new problems scan only themselves.

CREATE TABLE benchmark_items (
    benchmark     VARCHAR NOT NULL,
    benchmark_id  VARCHAR NOT NULL,
    problem       VARCHAR NOT NULL,
    answer        VARCHAR,
    PRIMARY KEY (benchmark, benchmark_id)
);

CREATE TABLE decontam_benchmarks (
    benchmark          VARCHAR PRIMARY KEY,
    origin             VARCHAR NOT NULL,      -- hf:<dataset>@<revision> or the JSONL path
    n_items            INTEGER NOT NULL,
    fingerprint        VARCHAR NOT NULL,      -- content hash of (id, problem) of every item
    config_key         VARCHAR NOT NULL,      -- matcher version + thresholds + methods of the scan
    scanned_seq        BIGINT NOT NULL,       -- problems with seq <= this were scanned against it
    scanned_trace_seq  BIGINT NOT NULL,       -- same for traces (when traces are scanned)
    scanned_at         TIMESTAMP,
    job_id             VARCHAR
);

-- Per-item failures of a scan (nothing is dropped silently); cleared when the benchmark is rescanned.
CREATE TABLE decontam_errors (
    problem_id  VARCHAR NOT NULL,
    benchmark   VARCHAR NOT NULL,
    error       VARCHAR NOT NULL,
    job_id      VARCHAR NOT NULL
);

ALTER TABLE contamination_matches ADD COLUMN job_id VARCHAR;
