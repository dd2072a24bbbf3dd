-- lineage: a build's folder by its build id.
SELECT out_dir FROM builds WHERE build_id = $id;
