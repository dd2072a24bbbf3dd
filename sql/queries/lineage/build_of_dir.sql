-- lineage: the latest recorded build written to a folder with this recipe.
SELECT build_id, created_at FROM builds
WHERE out_dir = $out_dir AND recipe_sha256 = $recipe_sha256
ORDER BY created_at DESC, build_id DESC LIMIT 1;
