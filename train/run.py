"""`distillate train RECIPE.yaml --build DIR`: TRL's SFTTrainer on a build, in one or two stages.

Stage 1 (optional) trains on a named ablation of the build (or another build) to learn the long-thought
format; stage 2 trains on the full build starting from stage 1's final weights (the paper's two-stage
recipe). Every stage writes checkpoints and `final/` (full weights; LoRA adapters merged) under
WORKSPACE/runs/<run_name>/stageN/; `run.json` links the run to the build's manifest (sha256, recipe sha256)
and holds the loss history; `loss.png` plots it. The run is recorded in the catalog (`train_runs`) when it
ends, in a short job, so a long training never holds the workspace's writer lock."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, replace
from pathlib import Path

from distillate.errors import DistillateError, require
from distillate.log import log

from .config import TrainConfig, parse_config

VERSION = "train-1"


@dataclass
class StageData:
    stage: int
    path: Path          # the sft.jsonl trained on
    manifest: dict      # that build's manifest.json
    manifest_sha256: str
    rows: int


@dataclass
class TrainResult:
    run_dir: Path
    final_model: Path
    stages: list[dict]   # per stage: data, rows, steps, first/last loss, output dir


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _build_data(build: Path, stage: int) -> StageData:
    sft, man = build / "sft.jsonl", build / "manifest.json"
    if not man.is_file():
        raise DistillateError(f"{build} is not a build (no manifest.json); make one with `distillate build`")
    if not sft.is_file():
        raise DistillateError(f"build {build} has no sft.jsonl")
    manifest = json.loads(man.read_text(encoding="utf-8"))
    rows = sum(1 for line in open(sft, "rb") if line.strip())
    if rows == 0:
        raise DistillateError(f"build {build} has no rows in sft.jsonl (nothing to train on)")
    return StageData(stage, sft, manifest, _sha256(man), rows)


def resolve_stage_data(build_dir: str | Path, cfg: TrainConfig) -> list[StageData]:
    build = Path(build_dir)
    if not build.is_dir():
        raise DistillateError(f"--build {build} is not a directory")
    build = build.resolve()  # run.json and the catalog link to it from anywhere (lineage)
    full = _build_data(build, cfg.data.stages)
    if cfg.data.stages == 1:
        return [full]
    sub = cfg.data.stage1_subset
    cand = build / sub
    if not (cand / "manifest.json").is_file():
        cand = Path(sub).resolve()
    if not (cand / "manifest.json").is_file():
        known = sorted(full.manifest.get("ablations", {}))
        raise DistillateError(f"stage1_subset {sub!r} is neither an ablation of {build} "
                              f"(ablations: {', '.join(known) or 'none'}) nor a build directory")
    return [_build_data(cand, 1), full]


def _load_rows(path: Path, limit: int | None):
    """Only the conversation columns go to TRL (messages, or prompt + completion)."""
    datasets = require("datasets", "train")
    rows = []
    with open(path, "rb") as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            conv = {k: r[k] for k in ("messages", "prompt", "completion") if k in r}
            if not conv:
                raise DistillateError(f"{path}: a row has neither 'messages' nor 'prompt'/'completion'")
            rows.append(conv)
            if limit is not None and len(rows) >= limit:
                break
    return datasets.Dataset.from_list(rows)


def _loss_history(state) -> list[dict]:
    return [{"step": h["step"], "loss": h["loss"], "learning_rate": h.get("learning_rate")}
            for h in state.log_history if "loss" in h]


def _train_stage(cfg: TrainConfig, data: StageData, start_from: str, out: Path, show_progress: bool) -> dict:
    transformers = require("transformers", "train")
    trl = require("trl", "train")
    over = {"output_dir": str(out), "disable_tqdm": not show_progress}
    if data.stage == 1 and cfg.data.stages == 2:
        for k in ("num_train_epochs", "learning_rate", "max_steps"):
            v = getattr(cfg.data, f"stage1_{k}")
            if v is not None:
                over[k] = v
    args = replace(cfg.sft, **over)
    tok_name = cfg.model.tokenizer_name_or_path or cfg.model.model_name_or_path
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(tok_name)
        model = transformers.AutoModelForCausalLM.from_pretrained(start_from, dtype=cfg.model.torch_dtype)
    except (OSError, ValueError) as e:
        raise DistillateError(f"cannot load model/tokenizer {start_from!r}: {str(e).splitlines()[0]}") from e
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    peft_config = None
    if cfg.lora.use_lora:
        peft = require("peft", "train")
        peft_config = peft.LoraConfig(
            r=cfg.lora.lora_r, lora_alpha=cfg.lora.lora_alpha, lora_dropout=cfg.lora.lora_dropout,
            target_modules=cfg.lora.lora_target_modules[0] if cfg.lora.lora_target_modules == ["all-linear"]
            else cfg.lora.lora_target_modules, task_type="CAUSAL_LM")
    dataset = _load_rows(data.path, cfg.data.max_train_samples)
    log.info("stage %d: %d rows from %s, starting from %s", data.stage, len(dataset), data.path, start_from)
    try:
        trainer = trl.SFTTrainer(model=model, args=args, train_dataset=dataset, processing_class=tokenizer,
                                 peft_config=peft_config)
    except ValueError as e:
        hint = (" Point chat_template_path at a template with {% generation %} markers (TRL ships some in "
                "trl/chat_templates/*_training.jinja) or set assistant_only_loss: false."
                if "chat template" in str(e).lower() else "")
        raise DistillateError(f"TRL refused stage {data.stage}: {e}{hint}") from e
    if not show_progress:  # without a progress bar the Trainer prints every log dict to stdout
        trainer.remove_callback(transformers.trainer_callback.PrinterCallback)
    t0 = time.monotonic()
    result = trainer.train()
    seconds = time.monotonic() - t0
    final = out / "final"
    acc = trainer.accelerator  # with several processes (accelerate launch), process 0 alone writes
    if acc.is_main_process:
        model = acc.unwrap_model(trainer.model)
        if peft_config is not None:
            model = model.merge_and_unload()  # the next stage and eval load plain weights
        model.save_pretrained(final)
        tokenizer.save_pretrained(final)
    acc.wait_for_everyone()  # the next stage loads these weights in every process
    hist = _loss_history(trainer.state)
    return {
        "main_process": acc.is_main_process, "num_processes": acc.num_processes,
        "stage": data.stage, "data": str(data.path), "rows": len(dataset),
        "build_manifest_sha256": data.manifest_sha256, "build_recipe_sha256": data.manifest.get("recipe_sha256"),
        "build_name": data.manifest.get("name"), "build_variant": data.manifest.get("variant"),
        "start_from": start_from, "output_dir": str(out), "final": str(final),
        "steps": trainer.state.global_step, "train_loss": result.training_loss, "seconds": round(seconds, 2),
        "first_loss": hist[0]["loss"] if hist else None, "last_loss": hist[-1]["loss"] if hist else None,
        "loss_history": hist, "overrides": {k: v for k, v in over.items() if k not in ("output_dir", "disable_tqdm")},
    }


def _plot_loss(stages: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    offset = 0
    for s in stages:
        h = s["loss_history"]
        if h:
            ax.plot([offset + x["step"] for x in h], [x["loss"] for x in h], marker=".", label=f"stage {s['stage']}")
        offset += s["steps"]
    ax.set_xlabel("step (stages concatenated)")
    ax.set_ylabel("training loss")
    ax.set_title(path.parent.name)
    ax.grid(alpha=0.3)
    if ax.get_legend_handles_labels()[0]:  # no loss logged (max_steps < logging_steps): no legend
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def run_name(cfg: TrainConfig, build_dir: str | Path, full: StageData) -> str:
    """SFTConfig's run_name, else <build name>-<model folder name>."""
    model_tag = Path(cfg.model.model_name_or_path.rstrip("/")).name
    return cfg.sft.run_name or f"{full.manifest.get('name') or Path(build_dir).name}-{model_tag}"


def train(ws, build_dir: str | Path, recipe: str | Path | None, flags: list[str] | None = None,
          show_progress: bool = True) -> TrainResult:
    """Train per the recipe on the build; returns where the run and its final weights are. Under
    `accelerate launch` every process runs this; process 0 alone writes run.json and the catalog record."""
    cfg = parse_config(recipe, flags)
    stage_data = resolve_stage_data(build_dir, cfg)
    full = stage_data[-1]
    name = run_name(cfg, build_dir, full)
    run_dir = ws.path("runs", name)
    start_from = cfg.model.model_name_or_path
    stages = []
    for data in stage_data:
        s = _train_stage(cfg, data, start_from, run_dir / f"stage{data.stage}", show_progress)
        stages.append(s)
        start_from = s["final"]
    main, nproc = stages[-1].pop("main_process"), stages[-1]["num_processes"]
    for s in stages[:-1]:
        s.pop("main_process")
    if not main:
        return TrainResult(run_dir, Path(start_from), stages)
    run = {
        "run_name": name, "version": VERSION, "build": str(Path(build_dir).resolve()),
        "build_manifest_sha256": full.manifest_sha256, "build_recipe_sha256": full.manifest.get("recipe_sha256"),
        "base_model": cfg.model.model_name_or_path, "lora": cfg.lora.use_lora, "final_model": start_from,
        "num_processes": nproc, "settings": cfg.given, "stages": stages,
    }
    (run_dir / "run.json").write_text(json.dumps(run, indent=2, default=str) + "\n", encoding="utf-8")
    _plot_loss(stages, run_dir / "loss.png")
    record_run(ws, run_dir, {"build": str(build_dir), "recipe": str(recipe)})
    log.info("run %s: final weights in %s", name, start_from)
    return TrainResult(run_dir, Path(start_from), stages)


def record_run(ws, run_dir: Path, args: dict | None = None) -> None:
    """Record a finished run (its run.json) in the catalog's train_runs, in a short job."""
    run = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    with ws.job("train", {**(args or {}), "run_name": run["run_name"]}) as (cat, job_id):
        cat.run("train/run_record", {
            "run_name": run["run_name"], "job_id": job_id, "build_dir": run["build"],
            "build_manifest_sha256": run["build_manifest_sha256"], "build_recipe_sha256": run["build_recipe_sha256"],
            "base_model": run["base_model"], "run_dir": str(run_dir), "final_model": run["final_model"],
            "stages": json.dumps([{k: v for k, v in s.items() if k != "loss_history"} for s in run["stages"]],
                                 default=str),
            "settings": json.dumps(run["settings"], default=str)})


def launch(ws, build_dir: str | Path, recipe: str | Path | None, flags: list[str] | None = None, *,
           num_processes: int = 1, accelerate_config: str | Path | None = None,
           show_progress: bool = True) -> TrainResult:
    """`train` in `num_processes` processes through `accelerate launch` (data parallel; DeepSpeed / FSDP when
    the accelerate config file says so). Without a config file: the torch.distributed launcher with
    `num_processes` processes, on CPUs (gloo) when there is no CUDA device. Returns the run as `train` does."""
    import os
    import subprocess
    import sys

    require("accelerate", "train")
    if num_processes < 1:
        raise DistillateError(f"--num-processes must be >= 1, got {num_processes}")
    cfg = parse_config(recipe, flags)  # bad settings fail here, before any process starts
    stage_data = resolve_stage_data(build_dir, cfg)
    name = run_name(cfg, build_dir, stage_data[-1])
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--num_processes", str(num_processes)]
    env = dict(os.environ)
    if accelerate_config is not None:
        if not Path(accelerate_config).is_file():
            raise DistillateError(f"--accelerate-config {accelerate_config} not found")
        cmd += ["--config_file", str(accelerate_config)]
    else:
        cmd += ["--num_machines", "1", "--mixed_precision", "no", "--dynamo_backend", "no"]
        if num_processes > 1:
            cmd.append("--multi_gpu")  # accelerate's torch.distributed launcher, also for CPU processes
        if not _cuda_available():
            env["ACCELERATE_USE_CPU"] = "true"  # the Trainer then uses gloo across CPU processes
    cmd += ["-m", "distillate.train", str(Path(recipe).resolve()) if recipe is not None else "-",
            "--build", str(Path(build_dir).resolve()), "--workspace", str(ws.root)]
    if not show_progress:
        cmd.append("--quiet")
    cmd += list(flags or [])
    log.info("launching %d process(es): %s", num_processes, " ".join(cmd))
    rc = subprocess.run(cmd, env=env).returncode
    if rc != 0:
        raise DistillateError(f"accelerate launch exited with status {rc} (see the output above)")
    run = json.loads((ws.root / "runs" / name / "run.json").read_text(encoding="utf-8"))
    return TrainResult(ws.root / "runs" / name, Path(run["final_model"]), run["stages"])


def _cuda_available() -> bool:
    from .config import _cuda

    return _cuda()
