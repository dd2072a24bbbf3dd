-- review app, Browse: the drop reasons recorded by one build (for the build filter).
SELECT DISTINCT unnest(reasons) AS reason FROM build_rows WHERE build_id = $build_id ORDER BY 1;
