SELECT greatest((SELECT coalesce(max(seq), 0) FROM traces), (SELECT coalesce(max(seq), 0) FROM problems));
