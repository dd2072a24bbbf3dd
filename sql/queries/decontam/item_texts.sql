-- decontam: every stored benchmark item's text.
SELECT benchmark, benchmark_id, problem FROM benchmark_items;
