"""The experiment file (EXP.yaml): dataclass defaults, then the YAML; every key checked, every field with help.

`train:` holds exactly the keys of `distillate train`'s recipe (parsed by train/config.py, so an unknown key
is the same error), `eval:` exactly the settings of `distillate eval` (EvalConfig's fields). Paths in the
file are relative to the file's folder, except `workspace`, which is relative to the output folder."""

from __future__ import annotations

import dataclasses
import difflib
import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distillate.errors import DistillateError

TINY = "tiny"  # base_model value: a tiny random model made by the experiment (see TinyModel)


@dataclass
class IngestInput:
    """One file ingested into the workspace before the build (ingest is idempotent: a rerun adds nothing)."""

    path: str = field(default="", metadata={"help": "File to ingest (relative to the experiment file)."})
    source: str = field(default="", metadata={"help": "Source name in the catalog."})
    format: str = field(default="auto", metadata={"help": "Input format, as `distillate ingest --format`."})
    license: str | None = field(default=None, metadata={"help": "Licence of the source (shown in data cards)."})


@dataclass
class CurateSettings:
    """Curation stages run before the build (each computes only what is missing)."""

    stages: list[str] | None = field(default=None, metadata={"help": "Stages (default: all): stats, verify, dedup, decontam."})
    tokenizer: str | None = field(default=None, metadata={"help": "Tokenizer of the signals' token counts."})
    benchmarks: list[str] | None = field(default=None, metadata={"help": "Benchmarks to decontaminate against."})
    benchmarks_dir: str | None = field(default=None, metadata={"help": "Folder of benchmark JSONL files (relative to the experiment file)."})


@dataclass
class TinyModel:
    """`base_model: tiny`: a random Qwen2-architecture model over a byte-level BPE tokenizer trained on the
    build's own text, with a ChatML template that has generation markers. Made offline in seconds; its
    accuracy is ~0: it shows the pipeline, not a result. Cached by content in WORKSPACE/models/."""

    vocab_size: int = field(default=1024, metadata={"help": "BPE vocabulary size (plus special tokens)."})
    hidden_size: int = field(default=64, metadata={"help": "Hidden size of the model."})
    layers: int = field(default=2, metadata={"help": "Number of transformer layers."})
    seed: int = field(default=0, metadata={"help": "Seed of the random weights."})


@dataclass
class ExperimentConfig:
    """One experiment: a build's variants trained on one recipe and evaluated on one protocol, beside the
    base model evaluated before fine-tuning (the baseline)."""

    name: str = field(default="", metadata={"help": "Experiment name (default: the file's stem, or its folder's name for experiment.yaml)."})
    workspace: str | None = field(default=None, metadata={"help": "Workspace, relative to --out (default: --workspace, $DISTILLATE_WORKSPACE, ./.distillate)."})
    ingest: list[IngestInput] = field(default_factory=list, metadata={"help": "Files ingested first (optional)."})
    curate: CurateSettings | None = field(default=None, metadata={"help": "Curation run after ingest, before the build (optional)."})
    build: str | None = field(default=None, metadata={"help": "An existing build directory (distillate build --out)."})
    recipe: str | None = field(default=None, metadata={"help": "Or a build recipe, built into OUT/build first."})
    variants: list[str] | None = field(default=None, metadata={"help": "Build variants to train: base, ablation names, sweep names (all their bins) or bin names. Default: [base], or none when sizes are given."})
    sizes: list[int | str] = field(default_factory=list, metadata={"help": "Training-set sizes: nested seeded subsets of the size_of variant's rows, e.g. [1000, 5000, all]."})
    size_seed: int = field(default=0, metadata={"help": "Seed of the permutation the size subsets are prefixes of."})
    size_of: str = field(default="base", metadata={"help": "The variant whose rows the size subsets draw from."})
    base_model: str = field(default="", metadata={"help": "Model to fine-tune: a local folder, a Hub id, or `tiny` (see tiny)."})
    tiny: TinyModel = field(default_factory=TinyModel, metadata={"help": "Shape of the tiny model (base_model: tiny)."})
    train: dict = field(default_factory=dict, metadata={"help": "Training settings: the keys of a `distillate train` recipe (one or two stages); model_name_or_path and run_name are set by the experiment."})
    eval: dict = field(default_factory=dict, metadata={"help": "Evaluation settings: the options of `distillate eval` (backend, benchmarks, n, max_tokens, budgets, ...); model is set by the experiment."})
    num_processes: int = field(default=1, metadata={"help": "Train each variant in N processes through accelerate launch."})
    accelerate_config: str | None = field(default=None, metadata={"help": "accelerate config file for training (DeepSpeed, FSDP)."})
    reference: str | None = field(default=None, metadata={"help": "Published reference points (JSON: rows of model, benchmark, accuracy, mean_tokens) drawn on the accuracy-vs-tokens plot."})
    transparency: dict = field(default_factory=dict, metadata={"help": "Declared facts the catalog cannot know (weights published, paper, ...), stored as given for `distillate tti`."})


@dataclass
class Experiment:
    config: ExperimentConfig
    path: Path                 # the experiment file
    sha256: str                # of its bytes
    eval_keys: dict            # the eval section, normalised (lists for benchmarks and budgets)

    @property
    def folder(self) -> Path:
        return self.path.parent

    def rel(self, p: str | None) -> str | None:
        """A path of the file, resolved against the file's folder."""
        if p is None:
            return None
        q = Path(p).expanduser()
        return str(q if q.is_absolute() else (self.folder / q).resolve())


def _unknown(keys, known, where: str) -> None:
    bad = [k for k in keys if k not in known]
    if bad:
        hints = [f"{k} (did you mean {m[0]}?)" if (m := difflib.get_close_matches(str(k), list(known), 1)) else str(k)
                 for k in bad]
        raise DistillateError(f"unknown key(s) in {where}: {', '.join(hints)}; known keys: {', '.join(known)}")


def _section(cls, data: Any, where: str):
    if data is None:
        return cls()
    if not isinstance(data, dict):
        raise DistillateError(f"{where} must be a mapping")
    known = {f.name: f for f in dataclasses.fields(cls)}
    _unknown(data, known, where)
    return cls(**data)


def _names(v: Any, where: str) -> list[str] | None:
    if v is None:
        return None
    if isinstance(v, str):
        v = [x.strip() for x in v.split(",") if x.strip()]
    if not isinstance(v, list) or not all(isinstance(x, str) for x in v):
        raise DistillateError(f"{where} must be a list of names")
    return v


def eval_settings(section: dict, where: str = "eval") -> dict:
    """The eval section checked against EvalConfig's fields (model excluded), with benchmarks and budgets
    as lists; returns the keys as given, normalised."""
    from distillate.eval import EvalConfig, parse_budgets
    from distillate.eval.run import _validate

    known = [f.name for f in dataclasses.fields(EvalConfig) if f.name != "model"]
    if "model" in section:
        raise DistillateError(f"{where}: model is set by the experiment (base_model, then each trained variant)")
    _unknown(section, known, where)
    out = dict(section)
    if "benchmarks" in out:
        out["benchmarks"] = _names(out["benchmarks"], f"{where}.benchmarks")
    if "budgets" in out:
        b = out["budgets"]
        out["budgets"] = parse_budgets(b) if isinstance(b, str) else sorted({int(x) for x in b or []})
    try:
        cfg = EvalConfig(model="-", **out)
    except TypeError as e:
        raise DistillateError(f"{where}: {e}") from e
    _validate(cfg)
    return out


def load_experiment(path: str | Path) -> Experiment:
    """Read and check an experiment file. Unknown keys (at any level) are errors with a hint."""
    import yaml

    p = Path(path)
    if not p.is_file():
        raise DistillateError(f"experiment file {p} not found")
    data = p.read_bytes()
    try:
        raw = yaml.safe_load(data) or {}
    except yaml.YAMLError as e:
        raise DistillateError(f"experiment file {p} is not valid YAML: {e}") from e
    if not isinstance(raw, dict):
        raise DistillateError(f"experiment file {p} must hold one YAML mapping")
    known = {f.name for f in dataclasses.fields(ExperimentConfig)}
    _unknown(raw, known, f"experiment file {p}")
    kw = dict(raw)
    if "ingest" in kw:
        if not isinstance(kw["ingest"], list):
            raise DistillateError("ingest must be a list of {path, source, format, license}")
        kw["ingest"] = [_section(IngestInput, x, f"ingest[{i}]") for i, x in enumerate(kw["ingest"])]
        for i, x in enumerate(kw["ingest"]):
            if not x.path or not x.source:
                raise DistillateError(f"ingest[{i}] needs path and source")
    if "curate" in kw:
        kw["curate"] = _section(CurateSettings, kw["curate"], "curate")
        kw["curate"].stages = _names(kw["curate"].stages, "curate.stages")
        kw["curate"].benchmarks = _names(kw["curate"].benchmarks, "curate.benchmarks")
    if "tiny" in kw:
        kw["tiny"] = _section(TinyModel, kw["tiny"], "tiny")
    for k in ("train", "eval", "transparency"):
        if k in kw and kw[k] is not None and not isinstance(kw[k], dict):
            raise DistillateError(f"{k} must be a mapping")
        kw[k] = kw.get(k) or {}
    from .transparency import parse_declared

    kw["transparency"] = parse_declared(kw["transparency"], str(p))
    cfg = ExperimentConfig(**kw)
    if not cfg.name:
        cfg.name = p.parent.name if p.stem == "experiment" else p.stem
    if bool(cfg.build) == bool(cfg.recipe):
        raise DistillateError("an experiment names exactly one of build (a build directory) or recipe (built first)")
    if not cfg.base_model:
        raise DistillateError(f"base_model is required: a local model folder, a Hub id, or {TINY!r}")
    if not cfg.train:
        raise DistillateError("the train section is required (the keys of a `distillate train` recipe)")
    for k in ("model_name_or_path", "run_name", "output_dir"):
        if k in cfg.train:
            raise DistillateError(f"train.{k} is set by the experiment (base_model; one run per variant)")
    cfg.variants = _names(cfg.variants, "variants")
    if cfg.variants is None:
        cfg.variants = [] if cfg.sizes else ["base"]
    sizes = []
    for s in cfg.sizes or []:
        if s == "all" or (isinstance(s, int) and not isinstance(s, bool) and s > 0):
            sizes.append(s)
        else:
            raise DistillateError(f"sizes takes positive row counts and 'all', got {s!r}")
    cfg.sizes = sorted(set(sizes), key=lambda s: (s == "all", s if s != "all" else 0))
    if cfg.num_processes < 1:
        raise DistillateError(f"num_processes must be >= 1, got {cfg.num_processes}")
    ev = eval_settings(cfg.eval)
    if not cfg.variants and not cfg.sizes:
        raise DistillateError("nothing to train: give variants and/or sizes")
    return Experiment(cfg, p.resolve(), hashlib.sha256(data).hexdigest(), ev)
