-- 010: lineage of evaluation runs and experiments (eval/lineage.py, experiment/). An eval run records the
-- training run whose weights it evaluated (resolved from the model path: a train run's stageN/final) and
-- the build that stage trained on; `lineage` holds the whole chain as results.json has it (train run,
-- builds of every stage, decontamination checks). Columns stay NULL for models that no train run made.

ALTER TABLE eval_runs ADD COLUMN train_run_dir VARCHAR;       -- WORKSPACE/runs/<run_name>
ALTER TABLE eval_runs ADD COLUMN train_stage INTEGER;         -- which stage's weights were evaluated
ALTER TABLE eval_runs ADD COLUMN build_dir VARCHAR;           -- the build that stage trained on
ALTER TABLE eval_runs ADD COLUMN build_manifest_sha256 VARCHAR;
ALTER TABLE eval_runs ADD COLUMN lineage JSON;                -- results.json's lineage + decontamination

-- One row per experiment output folder (`distillate experiment`), rewritten when it finishes or fails:
-- experiment.json as written then (variants with their build, train and eval run ids, metrics).
CREATE TABLE experiments (
    out_dir            VARCHAR PRIMARY KEY,
    name               VARCHAR NOT NULL,
    experiment_file    VARCHAR NOT NULL,
    experiment_sha256  VARCHAR NOT NULL,
    status             VARCHAR NOT NULL,                      -- running | ok | failed
    started_at         TIMESTAMP,
    finished_at        TIMESTAMP,
    record             JSON NOT NULL,                         -- experiment.json
    job_id             VARCHAR NOT NULL
);
