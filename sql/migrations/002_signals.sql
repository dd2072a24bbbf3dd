-- 002: trace-quality signals (curate/signals, docs/signals.md). Every added column is nullable so rows
-- written by older code or by hand (tests) stay valid; config_hash says which marker lists / thresholds
-- produced a row, so a changed configuration is recomputed like a new signal_version.
ALTER TABLE trace_signals ADD COLUMN config_hash VARCHAR;
ALTER TABLE trace_signals ADD COLUMN n_chars INTEGER;              -- thought + solution characters
ALTER TABLE trace_signals ADD COLUMN n_lines INTEGER;
ALTER TABLE trace_signals ADD COLUMN n_paragraphs INTEGER;         -- blocks separated by blank lines
ALTER TABLE trace_signals ADD COLUMN n_steps INTEGER;              -- explicit step lines ("Step 3", "2.", "**Step")
ALTER TABLE trace_signals ADD COLUMN n_markers INTEGER;            -- reflection/backtracking markers, all kinds
ALTER TABLE trace_signals ADD COLUMN markers_per_1k DOUBLE;        -- n_markers per 1000 tokens
ALTER TABLE trace_signals ADD COLUMN marker_counts MAP(VARCHAR, INTEGER);  -- kind -> count (kinds with > 0)
ALTER TABLE trace_signals ADD COLUMN thought_unclosed BOOLEAN;     -- the thought tag was opened, never closed
ALTER TABLE trace_signals ADD COLUMN no_final_answer BOOLEAN;      -- no \boxed{} / "final answer" in the response
ALTER TABLE trace_signals ADD COLUMN ends_mid_sentence BOOLEAN;    -- the text stops without closing punctuation
ALTER TABLE trace_signals ADD COLUMN finish_length BOOLEAN;        -- finish_reason = 'length' (NULL: unknown)
ALTER TABLE trace_signals ADD COLUMN truncation_reasons VARCHAR[]; -- why `truncated` is TRUE
ALTER TABLE trace_signals ADD COLUMN rep_ngram_share DOUBLE;       -- share of word 8-grams seen earlier in the text
ALTER TABLE trace_signals ADD COLUMN tail_rep_ngram_share DOUBLE;  -- the same over the last quarter of the words
ALTER TABLE trace_signals ADD COLUMN longest_repeat_words INTEGER; -- longest run of words whose 8-grams all repeat
ALTER TABLE trace_signals ADD COLUMN compression_ratio DOUBLE;     -- zlib(level 1) bytes / UTF-8 bytes
ALTER TABLE trace_signals ADD COLUMN n_boxed INTEGER;              -- \boxed{} / \fbox{} in thought + solution
ALTER TABLE trace_signals ADD COLUMN n_distinct_boxed INTEGER;
ALTER TABLE trace_signals ADD COLUMN final_answer VARCHAR;         -- last boxed value of the solution
ALTER TABLE trace_signals ADD COLUMN thought_answer VARCHAR;       -- last boxed value of the thought
ALTER TABLE trace_signals ADD COLUMN answers_agree BOOLEAN;        -- thought's last answer = solution's (NULL: one missing)
ALTER TABLE trace_signals ADD COLUMN foreign_script_share DOUBLE;  -- letters of other scripts (CJK, Cyrillic...) / all letters
ALTER TABLE trace_signals ADD COLUMN language_mixed BOOLEAN;
ALTER TABLE trace_signals ADD COLUMN has_thought BOOLEAN;
ALTER TABLE trace_signals ADD COLUMN has_solution BOOLEAN;
ALTER TABLE trace_signals ADD COLUMN tags_well_formed BOOLEAN;     -- no stray/unbalanced thought or solution tags left in the text
ALTER TABLE trace_signals ADD COLUMN format_ok BOOLEAN;            -- has_thought AND has_solution AND tags_well_formed
ALTER TABLE trace_signals ADD COLUMN error VARCHAR;                -- per-trace failure (the row keeps NULL signals)

-- Marker positions for the review app: character offsets (Python/DuckDB code points) into the part.
CREATE TABLE trace_markers (
    trace_id  VARCHAR NOT NULL,
    kind      VARCHAR NOT NULL,     -- marker kind, e.g. wait | but_wait | alternatively | check | hmm | actually
    part      VARCHAR NOT NULL,     -- thought | solution
    pos       INTEGER NOT NULL,     -- start offset in that part
    len       INTEGER NOT NULL      -- matched length in characters
);

ALTER TABLE problem_signals ADD COLUMN config_hash VARCHAR;
ALTER TABLE problem_signals ADD COLUMN is_image BOOLEAN;           -- [asy], ![..](..), \includegraphics, "the figure/diagram"
ALTER TABLE problem_signals ADD COLUMN is_proof BOOLEAN;           -- prove / show that / demonstrate that
ALTER TABLE problem_signals ADD COLUMN is_multiple_choice BOOLEAN; -- an option list (A)..(B).. / Answer Choices
ALTER TABLE problem_signals ADD COLUMN is_multi_part BOOLEAN;      -- (a) .. (b) .. / part (ii)
ALTER TABLE problem_signals ADD COLUMN no_reference BOOLEAN;       -- no reference answer in the catalog
ALTER TABLE problem_signals ADD COLUMN evidence JSON;              -- reason -> the matched snippet
