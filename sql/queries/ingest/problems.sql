-- New problems; a known problem that had no reference answer takes the first one offered.
INSERT INTO problems (problem_id, problem, answer, reference_solution, first_source, seq, metadata)
SELECT problem_id, problem, answer, reference_solution, first_source, seq, CAST(metadata AS JSON)
FROM _in_problems
WHERE problem_id NOT IN (SELECT problem_id FROM problems);

UPDATE problems SET answer = i.answer
FROM _in_problems i
WHERE problems.problem_id = i.problem_id AND problems.answer IS NULL AND i.answer IS NOT NULL;

UPDATE problems SET reference_solution = i.reference_solution
FROM _in_problems i
WHERE problems.problem_id = i.problem_id AND problems.reference_solution IS NULL
  AND i.reference_solution IS NOT NULL;
