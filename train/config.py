"""Training configuration: dataclasses, then a YAML recipe, then command-line flags (TRL's parser style).

A recipe is one flat YAML mapping whose keys are the fields of `ModelArguments`, `DataArguments`,
`LoraArguments` and TRL's `SFTConfig` (learning_rate, max_length, packing, assistant_only_loss, ...).
Flags after the recipe override it (`--learning_rate 1e-5 --packing true`). Unknown keys and flags are
errors, never ignored."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from distillate.errors import DistillateError, require


@dataclass
class ModelArguments:
    """Which model to train."""

    model_name_or_path: str | None = field(
        default=None, metadata={"help": "Base model: a local directory or a Hugging Face Hub id (required)."})
    tokenizer_name_or_path: str | None = field(
        default=None, metadata={"help": "Tokenizer (and its chat template); default: the model's own."})
    torch_dtype: str = field(
        default="auto", metadata={"help": "Weights dtype when loading: auto|float32|bfloat16|float16."})


@dataclass
class DataArguments:
    """What to train on: the build given with --build, in one or two stages. (The run's name is SFTConfig's
    `run_name`: checkpoints and logs go to WORKSPACE/runs/<run_name>, default <build name>-<model name>.)"""

    stages: int = field(default=1, metadata={"help": "1: train on the full build; 2: stage 1 on `stage1_subset`, "
                                                     "then stage 2 on the full build starting from stage 1's weights."})
    stage1_subset: str | None = field(
        default=None, metadata={"help": "Stage 1 data: the name of an ablation of the build (BUILD/NAME/sft.jsonl) "
                                        "or the path of another build directory (required with stages: 2)."})
    stage1_num_train_epochs: float | None = field(
        default=None, metadata={"help": "Epochs of stage 1 (default: num_train_epochs)."})
    stage1_learning_rate: float | None = field(
        default=None, metadata={"help": "Learning rate of stage 1 (default: learning_rate)."})
    stage1_max_steps: int | None = field(
        default=None, metadata={"help": "Max steps of stage 1 (default: max_steps)."})
    max_train_samples: int | None = field(
        default=None, metadata={"help": "Use only the first N rows of each stage's data (smoke tests)."})


@dataclass
class LoraArguments:
    """Optional LoRA adapters (peft). Each stage's adapters are merged into its final weights."""

    use_lora: bool = field(default=False, metadata={"help": "Train LoRA adapters instead of all weights."})
    lora_r: int = field(default=16, metadata={"help": "LoRA rank."})
    lora_alpha: int = field(default=32, metadata={"help": "LoRA alpha (scaling = alpha / r)."})
    lora_dropout: float = field(default=0.05, metadata={"help": "Dropout on the LoRA branch."})
    lora_target_modules: list[str] = field(
        default_factory=lambda: ["all-linear"],
        metadata={"help": "Modules that get adapters (peft names; 'all-linear' = every linear layer but the head)."})


@dataclass
class TrainConfig:
    model: ModelArguments
    data: DataArguments
    lora: LoraArguments
    sft: object  # trl.SFTConfig (imported lazily)
    given: dict  # the keys set by the recipe and the flags, as given (recorded in run.json)


def _cuda() -> bool:
    try:
        import torch

        return torch.cuda.is_available()
    except ImportError:
        return False


def parse_config(recipe: str | Path | dict | None, flags: list[str] | None = None,
                 origin: str | None = None) -> TrainConfig:
    """Recipe YAML (or its mapping, e.g. an experiment's `train:` section; None: flags only) + flags ->
    TrainConfig. `origin` names the mapping in errors. Raises DistillateError on bad input."""
    import yaml

    trl = require("trl", "train")
    raw: dict = {}
    if isinstance(recipe, dict):
        raw, recipe = dict(recipe), origin or "the training settings"
    elif recipe is not None:
        p = Path(recipe)
        if not p.is_file():
            raise DistillateError(f"recipe {p} not found")
        try:
            raw = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as e:
            raise DistillateError(f"recipe {p} is not valid YAML: {e}") from e
        if not isinstance(raw, dict):
            raise DistillateError(f"recipe {p} must hold one YAML mapping of settings")
    types = (ModelArguments, DataArguments, LoraArguments, trl.SFTConfig)
    parser = trl.TrlParser(types, allow_abbrev=False)  # a misspelt flag must not match a longer one
    known = {a.dest for a in parser._actions}
    unknown = sorted(set(raw) - known)
    if unknown:
        import difflib

        hints = [f"{k} (did you mean {m[0]}?)" if (m := difflib.get_close_matches(k, known, 1)) else k for k in unknown]
        raise DistillateError(f"unknown setting(s) in {recipe}: {', '.join(hints)}")
    if "output_dir" in raw or any(f == "--output_dir" or f.startswith("--output_dir=") for f in flags or []):
        raise DistillateError("output_dir is chosen by distillate (WORKSPACE/runs/<run_name>/stageN); set run_name")
    defaults = dict(raw)
    # SFTConfig defaults to bf16, which CPUs refuse; train in fp32 there unless the recipe says otherwise.
    if "bf16" not in defaults and "fp16" not in defaults and not _cuda():
        defaults["bf16"] = False
    defaults.setdefault("report_to", "none")
    parser.set_defaults_with_config(**defaults)
    try:
        model, data, lora, sft = parser.parse_args_into_dataclasses(args=list(flags or []))
    except ValueError as e:
        raise DistillateError(f"bad training settings: {e}") from e
    except SystemExit as e:  # argparse already printed the bad flag
        raise DistillateError(f"bad training flags: {' '.join(flags or [])}") from e
    if not model.model_name_or_path:
        raise DistillateError("model_name_or_path is required (in the recipe or as --model_name_or_path)")
    if data.stages not in (1, 2):
        raise DistillateError(f"stages must be 1 or 2, got {data.stages}")
    if data.stages == 2 and not data.stage1_subset:
        raise DistillateError("stages: 2 needs stage1_subset (an ablation name of the build or a build directory)")
    # What the recipe and flags set, with the parsed (typed) values.
    parsed = {}
    for obj in (model, data, lora, sft):
        parsed.update({k: getattr(obj, k) for k in vars(obj)})
    given = {k: parsed.get(k, v) for k, v in {**raw, **_flag_values(flags or [])}.items()}
    return TrainConfig(model, data, lora, sft, given)


def _flag_values(flags: list[str]) -> dict:
    out, i = {}, 0
    while i < len(flags):
        f = flags[i]
        if f.startswith("--"):
            k, eq, v = f[2:].partition("=")
            if not eq and i + 1 < len(flags) and not flags[i + 1].startswith("--"):
                v, i = flags[i + 1], i + 1
            out[k] = v if (eq or v) else True
        i += 1
    return out
