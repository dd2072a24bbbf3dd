"""Evaluation under token budgets with the curation verifier: `distillate eval`, `distillate eval-plot`."""

from .metrics import benchmark_metrics, majority_correct, pass_at_k
from .plot import load_reference, plot_runs
from .run import EvalConfig, EvalResult, evaluate, parse_budgets, score_budgets

__all__ = ["EvalConfig", "EvalResult", "benchmark_metrics", "evaluate", "majority_correct", "parse_budgets",
           "load_reference", "pass_at_k", "plot_runs", "score_budgets"]
