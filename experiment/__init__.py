"""Experiments (docs/experiments.md): a build's variants trained and evaluated on one protocol, beside the
base model's baseline, with a comparison and plots; resumable.

    from distillate.experiment import run_experiment, plan_experiment
    state = run_experiment("examples/o1-journey-tiny/experiment.yaml", out="runs/o1j")   # experiment.json
"""

from .config import ExperimentConfig, load_experiment
from .run import plan_experiment, run_experiment

__all__ = ["ExperimentConfig", "load_experiment", "plan_experiment", "run_experiment"]
