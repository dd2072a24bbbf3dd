"""SFT on a build with TRL (extra `train`): `distillate train RECIPE.yaml --build DIR`."""

from .config import DataArguments, LoraArguments, ModelArguments, TrainConfig, parse_config
from .run import TrainResult, launch, train

__all__ = ["DataArguments", "LoraArguments", "ModelArguments", "TrainConfig", "TrainResult", "launch", "parse_config", "train"]
