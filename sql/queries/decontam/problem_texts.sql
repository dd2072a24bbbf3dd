-- decontam: the texts of some problems (the judge's prompts).
SELECT problem_id, problem FROM problems WHERE list_contains($ids, problem_id);
