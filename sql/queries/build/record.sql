-- Record one built variant; its rows come from _build_rows_in (trace_id, kept, reasons, step, details).
INSERT INTO builds (build_id, name, variant, out_dir, recipe, counts, job_id, fingerprint, recipe_sha256,
                    files, kept, dropped)
VALUES ($build_id, $name, $variant, $out_dir, $recipe, $counts, $job_id, $fingerprint, $recipe_sha256,
        $files, $kept, $dropped);
INSERT INTO build_rows (build_id, trace_id, kept, reasons, step, details)
SELECT $build_id, trace_id, kept, reasons, step, CAST(details AS JSON) FROM _build_rows_in;
