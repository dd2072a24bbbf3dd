-- Builds recorded in the catalog, newest first.
SELECT build_id, name, variant, out_dir, kept, dropped, fingerprint, created_at
FROM builds ORDER BY created_at DESC, build_id;
