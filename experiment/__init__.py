"""Experiments: from data ablation to evaluated model, and the Technical Transparency Index that scores them."""

from .transparency import CHECKLIST, LEADERBOARD, parse_declared, score, score_build, score_experiment

__all__ = ["CHECKLIST", "LEADERBOARD", "parse_declared", "score", "score_build", "score_experiment"]
