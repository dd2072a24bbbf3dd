"""The plan of an experiment: which variants, their data, and every train and eval run with its key.

A run is keyed by content: a train run by the hash of its data fingerprints (sha256 of each stage's
sft.jsonl), the train settings and the base model; an eval run by the hash of the model it evaluates (a
train key or the base model) and the eval settings. A run whose key finished before (recorded in
experiment.json, or found on disk) is skipped; two variants with the same data share one run."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import orjson

from distillate.errors import DistillateError

from .config import TINY, Experiment

KEY_CHARS = 10  # key prefix in run folder names


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def key_of(obj) -> str:
    return hashlib.sha256(orjson.dumps(obj, option=orjson.OPT_SORT_KEYS, default=str)).hexdigest()


@dataclass
class Variant:
    name: str
    kind: str                        # base | ablation | sweep | size
    build_dir: Path | None           # None: not built yet (dry run)
    rows: int | None = None
    data_fingerprint: str | None = None
    subset: dict | None = None       # size variants: n, seed, parent (written before training)
    train_key: str | None = None
    eval_key: str | None = None


@dataclass
class Run:
    kind: str                        # train | eval
    key: str | None
    variants: list[str]              # variants served by this run (several when their data are identical)
    name: str                        # folder name: <first variant>-<key prefix>
    done: dict | None = None         # the finished run's record (from experiment.json or the disk)


@dataclass
class Plan:
    build_dir: Path | None
    base_model_id: str | None        # what keys use for the base model (tiny: its content hash)
    stage1_dir: Path | None          # two-stage training: stage 1's data (an ablation of the build)
    variants: list[Variant] = field(default_factory=list)
    runs: list[Run] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def read_manifest(d: Path) -> dict:
    try:
        return json.loads((d / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise DistillateError(f"{d} holds no readable manifest.json (not a build): {e}") from e


def count_rows(path: Path) -> int:
    with open(path, "rb") as f:
        return sum(1 for line in f if line.strip())


def build_variants(exp: Experiment, build_dir: Path) -> list[Variant]:
    """The named variants of the build (base, ablations, sweeps expanded to their bins)."""
    man = read_manifest(build_dir)
    names = list(man.get("ablations", {}))
    out: list[Variant] = []
    for want in exp.config.variants:
        if want == "base":
            out.append(Variant("base", "base", build_dir))
            continue
        if want in names:
            picked = [want]
        else:
            picked = [n for n in names if re.fullmatch(re.escape(want) + r"_[qb]\d+", n)]
            if not picked:
                raise DistillateError(f"variant {want!r} is neither 'base', an ablation nor a sweep of build "
                                      f"{build_dir} (its variants: {', '.join(names) or 'none'})")
        for n in picked:
            d = build_dir / man["ablations"][n].get("dir", n)
            sub = read_manifest(d)
            out.append(Variant(n, "sweep" if (sub.get("recipe") or {}).get("bin") else "ablation", d))
    seen = set()
    for v in out:
        if v.name in seen:
            raise DistillateError(f"variant {v.name!r} is listed twice")
        seen.add(v.name)
    return out


def subset_lines(parent: Path, n: int | None, seed: int) -> tuple[list[bytes], int]:
    """Rows of a size subset: the first n of one seeded permutation of the parent's rows, kept in the
    parent's order, so a smaller subset is inside every larger one. n None: all rows."""
    import numpy as np

    with open(parent / "sft.jsonl", "rb") as f:
        lines = [line if line.endswith(b"\n") else line + b"\n" for line in f if line.strip()]
    total = len(lines)
    if n is None:
        return lines, total
    if n > total:
        raise DistillateError(f"sizes: {n} is more than the {total} rows of {parent}")
    rank = np.empty(total, dtype=np.int64)
    rank[np.random.default_rng(seed).permutation(total)] = np.arange(total)
    return [line for line, r in zip(lines, rank) if r < n], total


def size_variants(exp: Experiment, of: Variant) -> list[Variant]:
    out = []
    for s in exp.config.sizes:
        n = None if s == "all" else int(s)
        name = f"size_{s}"
        if of.build_dir is None:
            out.append(Variant(name, "size", None, rows=n))
            continue
        lines, total = subset_lines(of.build_dir, n, exp.config.size_seed)
        fp = hashlib.sha256(b"".join(lines)).hexdigest()
        out.append(Variant(name, "size", None, rows=len(lines), data_fingerprint=fp,
                           subset={"n": len(lines), "of_rows": total, "seed": exp.config.size_seed,
                                   "parent": str(of.build_dir), "parent_variant": of.name}))
    return out


def base_model_id(exp: Experiment, build_dir: Path | None) -> str | None:
    """The base model as keys see it: its name or path, or for `tiny` the hash of its shape and of the
    text its tokenizer is trained on (the build's sft.jsonl)."""
    if exp.config.base_model != TINY:
        return exp.config.base_model
    if build_dir is None:
        return None
    from dataclasses import asdict

    return "tiny-" + key_of({"tiny": asdict(exp.config.tiny), "text": sha256_file(build_dir / "sft.jsonl")})[:16]


def stage1_dir(exp: Experiment, build_dir: Path | None) -> Path | None:
    """Two-stage training: stage 1's data, an ablation of the build (by name) or a build folder (a path
    relative to the experiment file)."""
    t = exp.config.train
    if int(t.get("stages", 1)) != 2 or build_dir is None:
        return None
    sub = t.get("stage1_subset")
    if not sub:
        raise DistillateError("train.stages: 2 needs train.stage1_subset (an ablation of the build or a build folder)")
    cand = build_dir / str(sub)
    if (cand / "manifest.json").is_file():
        return cand
    cand = Path(exp.rel(str(sub)))
    if (cand / "manifest.json").is_file():
        return cand
    raise DistillateError(f"train.stage1_subset {sub!r} is neither an ablation of {build_dir} nor a build folder")


def train_settings(exp: Experiment, model: str, run_name: str, s1: Path | None) -> dict:
    """The recipe one variant is trained with: the train section + the experiment's model and run name."""
    t = dict(exp.config.train, model_name_or_path=model, run_name=run_name)
    if s1 is not None:
        t["stage1_subset"] = str(s1)
    return t


def benchmark_files(exp: Experiment) -> dict:
    """Content hashes of the local benchmark files the eval reads (a changed file is a new protocol)."""
    d = exp.eval_keys.get("benchmarks_dir")
    if not d:
        return {}
    d = Path(exp.rel(d))
    names = exp.eval_keys.get("benchmarks") or ["aime24"]
    return {n: sha256_file(d / f"{n}.jsonl") for n in names if (d / f"{n}.jsonl").is_file()}


def eval_settings_resolved(exp: Experiment) -> dict:
    ev = dict(exp.eval_keys)
    if ev.get("benchmarks_dir"):
        ev["benchmarks_dir"] = exp.rel(ev["benchmarks_dir"])
    return ev


def make_plan(exp: Experiment, build_dir: Path | None, ws_root: Path, out: Path, state: dict) -> Plan:
    """Variants, keys and runs; `build_dir` None when the build is not made yet (a dry run)."""
    from distillate.eval.run import VERSION as EVAL_VERSION
    from distillate.train.run import VERSION as TRAIN_VERSION

    from distillate.train.config import parse_config

    cfg = exp.config
    s1 = stage1_dir(exp, build_dir)
    plan = Plan(build_dir, base_model_id(exp, build_dir), s1)
    # the train section is checked as `distillate train` checks a recipe (unknown keys are errors)
    parse_config(train_settings(exp, "-", "-", None), origin="the experiment's train section")
    if build_dir is not None:
        named = build_variants(exp, build_dir)
        size_of = next((v for v in named if v.name == cfg.size_of), None)
        if size_of is None:
            size_of = build_variants_one(exp, build_dir, cfg.size_of)
        plan.variants = named + (size_variants(exp, size_of) if cfg.sizes else [])
        for v in plan.variants:
            if v.kind != "size":
                v.rows = count_rows(v.build_dir / "sft.jsonl")
                v.data_fingerprint = sha256_file(v.build_dir / "sft.jsonl")
            else:
                v.build_dir = out / "subsets" / v.name
    else:
        plan.variants = [Variant(n, "?", None) for n in cfg.variants] + [
            Variant(f"size_{s}", "size", None, rows=None if s == "all" else int(s)) for s in cfg.sizes]
        plan.notes.append("the build is made first: rows, fingerprints and keys are known after it")
    ev = eval_settings_resolved(exp)
    bench = benchmark_files(exp)
    acc_cfg = sha256_file(Path(exp.rel(cfg.accelerate_config))) if cfg.accelerate_config else None
    s1_fp = sha256_file(s1 / "sft.jsonl") if s1 is not None else None
    # baseline: the base model before fine-tuning, on the same protocol
    base_key = key_of({"model": plan.base_model_id, "eval": ev, "benchmark_files": bench, "version": EVAL_VERSION}) \
        if plan.base_model_id else None
    plan.runs.append(Run("eval", base_key, ["baseline"], f"baseline-{(base_key or '?')[:KEY_CHARS]}"))
    trains: dict[str, Run] = {}
    evals: dict[str, Run] = {}
    for v in plan.variants:
        if v.data_fingerprint is None or plan.base_model_id is None:
            plan.runs += [Run("train", None, [v.name], v.name), Run("eval", None, [v.name], v.name)]
            continue
        v.train_key = key_of({"base_model": plan.base_model_id, "train": cfg.train, "data": [s1_fp, v.data_fingerprint],
                              "num_processes": cfg.num_processes, "accelerate_config": acc_cfg,
                              "version": TRAIN_VERSION})
        v.eval_key = key_of({"model": v.train_key, "eval": ev, "benchmark_files": bench, "version": EVAL_VERSION})
        if v.train_key in trains:
            trains[v.train_key].variants.append(v.name)
        else:
            trains[v.train_key] = Run("train", v.train_key, [v.name], f"{v.name}-{v.train_key[:KEY_CHARS]}")
            plan.runs.append(trains[v.train_key])
        if v.eval_key in evals:
            evals[v.eval_key].variants.append(v.name)
        else:
            evals[v.eval_key] = Run("eval", v.eval_key, [v.name], f"{v.name}-{v.eval_key[:KEY_CHARS]}")
            plan.runs.append(evals[v.eval_key])
    for r in plan.runs:
        r.done = finished(r, ws_root, out, state)
    return plan


def build_variants_one(exp: Experiment, build_dir: Path, name: str) -> Variant:
    saved = exp.config.variants
    try:
        exp.config.variants = [name]
        vs = build_variants(exp, build_dir)
    finally:
        exp.config.variants = saved
    if len(vs) != 1:
        raise DistillateError(f"size_of names one variant of the build, not {name!r} ({len(vs)} bins)")
    return vs[0]


def finished(run: Run, ws_root: Path, out: Path, state: dict) -> dict | None:
    """The record of a finished run with this key: from experiment.json, else found on disk (a run that
    finished just before a kill, before experiment.json was written)."""
    if run.key is None:
        return None
    rec = (state.get("runs") or {}).get(run.key)
    if rec and rec.get("status") == "done" and _outputs_exist(run.kind, rec):
        return rec
    if run.kind == "train":
        for d in sorted((ws_root / "runs").glob(f"*-{run.key[:KEY_CHARS]}")):
            if (d / "run.json").is_file():
                info = json.loads((d / "run.json").read_text(encoding="utf-8"))
                if Path(info.get("final_model", "")).is_dir():
                    return {"kind": "train", "status": "done", "run_id": info["run_name"], "dir": str(d),
                            "final_model": info["final_model"], "found_on_disk": True}
    else:
        for d in sorted((out / "evals").glob(f"*-{run.key[:KEY_CHARS]}")):
            if (d / "results.json").is_file():
                res = json.loads((d / "results.json").read_text(encoding="utf-8"))
                return {"kind": "eval", "status": "done", "run_id": res["run_id"], "dir": str(d),
                        "found_on_disk": True}
    return None


def _outputs_exist(kind: str, rec: dict) -> bool:
    d = Path(rec.get("dir", ""))
    if kind == "train":
        return (d / "run.json").is_file() and Path(rec.get("final_model", "")).is_dir()
    return (d / "results.json").is_file()
