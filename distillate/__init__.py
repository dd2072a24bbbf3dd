"""Distillate: curate long-thought reasoning traces into versioned SFT sets.

The public Python API lives in `distillate.curate` (the CLI, the review app and the tests all call it);
`distillate.train` and `distillate.eval` are the thin training/evaluation layer.
"""

__version__ = "0.1.0"
