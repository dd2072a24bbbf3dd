INSERT OR IGNORE INTO problem_sources (problem_id, source, source_id, file, line, answer)
SELECT DISTINCT ON (problem_id, source, source_id) problem_id, source, source_id, file, line, answer
FROM _in_problem_sources;
