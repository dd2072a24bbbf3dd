"""Experiments (docs/experiments.md): a build's variants trained and evaluated on one protocol, beside the
base model's baseline, with a comparison and plots; resumable. And the Technical Transparency Index that
scores an experiment or a build (docs/transparency.md).

    from distillate.experiment import run_experiment, plan_experiment, score
    state = run_experiment("examples/o1-journey-tiny/experiment.yaml", out="runs/o1j")   # experiment.json
    index = score("runs/o1j")                                                            # the TTI
"""

from .config import ExperimentConfig, load_experiment
from .run import plan_experiment, run_experiment
from .transparency import CHECKLIST, LEADERBOARD, parse_declared, score, score_build, score_experiment

__all__ = ["ExperimentConfig", "load_experiment", "plan_experiment", "run_experiment", "CHECKLIST", "LEADERBOARD",
           "parse_declared", "score", "score_build", "score_experiment"]
