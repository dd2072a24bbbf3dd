"""`distillate experiment EXP.yaml --out DIR`: the base model evaluated once (the baseline), then each
variant of a build trained and evaluated on the identical protocol; experiment.json, comparison.md and
plots in DIR.

Steps: ingest and curate (when the file has those sections), the build (when it names a recipe), the
tiny model (base_model: tiny), the size subsets, then the runs of the plan (plan.py) in order: the
baseline eval, then train + eval of each variant. experiment.json is rewritten atomically after every
finished run, so a killed experiment resumes: rerunning skips every run whose key finished."""

from __future__ import annotations

import dataclasses
import json
import os
import time
from datetime import datetime, timezone
from pathlib import Path

import orjson

from distillate.errors import DistillateError
from distillate.log import log

from .config import TINY, Experiment, load_experiment
from .plan import Plan, Run, key_of, make_plan, read_manifest, sha256_file, subset_lines

VERSION = "experiment-1"


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def write_json_atomic(path: Path, obj: dict) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(obj, indent=2, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def resolve_workspace(exp: Experiment, out: Path, workspace: str | Path | None):
    from distillate.curate import Workspace

    if workspace is not None:
        return Workspace(workspace)
    if exp.config.workspace:
        w = Path(exp.config.workspace).expanduser()
        return Workspace(w if w.is_absolute() else out / w)
    return Workspace.resolve(None)


class Experimenter:
    """Runs one experiment into `out`; `state` mirrors experiment.json."""

    def __init__(self, exp: Experiment, out: Path, ws, show_progress: bool = True):
        self.exp, self.out, self.ws, self.show_progress = exp, out, ws, show_progress
        self.path = out / "experiment.json"
        prev = json.loads(self.path.read_text(encoding="utf-8")) if self.path.is_file() else {}
        cfg = exp.config
        self.state = {
            "name": cfg.name, "version": VERSION, "experiment_file": str(exp.path),
            "experiment_sha256": exp.sha256, "workspace": str(ws.root), "out_dir": str(out),
            "base_model": cfg.base_model, "base_model_path": prev.get("base_model_path"),
            "build": prev.get("build") or {}, "train": cfg.train, "eval": exp.eval_keys,
            "transparency": cfg.transparency,
            "sizes": {"sizes": cfg.sizes, "seed": cfg.size_seed, "of": cfg.size_of} if cfg.sizes else None,
            "baseline": prev.get("baseline") or {}, "variants": prev.get("variants") or [],
            "runs": prev.get("runs") or {}, "prepare": prev.get("prepare") or {},
            "status": "running", "started_at": prev.get("started_at") or _now(), "finished_at": None,
            "attempts": (prev.get("attempts") or []) + [{"started_at": _now()}],
        }

    def save(self) -> None:
        write_json_atomic(self.path, self.state)

    # -- preparation ------------------------------------------------------------------------------
    def prepare(self) -> None:
        """Ingest and curate, unless the same inputs were prepared into this workspace before."""
        cfg = self.exp.config
        key = prepare_key(self.exp)
        if key is None:
            return
        if self.state["prepare"].get("key") == key and self.ws.exists():
            log.info("prepare: ingest + curate done before with the same inputs (skipped)")
            return
        from distillate.curate import ingest
        from distillate.curate.pipeline import curate

        for spec in cfg.ingest:
            path = self.exp.rel(spec.path)
            with self.ws.job("ingest", {"inputs": [path], "source": spec.source}) as (cat, job_id):
                st = ingest(cat, job_id, [path], source=spec.source, fmt=spec.format, license=spec.license,
                            show_progress=self.show_progress)
            log.info("ingest %s: %d new, %d already present, %d quarantined", spec.source, st.ingested,
                     st.already_present, st.quarantined)
        if cfg.curate is not None:
            c = cfg.curate
            res = curate(self.ws, ",".join(c.stages) if c.stages else None, show_progress=self.show_progress,
                         tokenizer=c.tokenizer, benchmarks=",".join(c.benchmarks) if c.benchmarks else None,
                         benchmarks_dir=self.exp.rel(c.benchmarks_dir))
            for stage, counters in res.items():
                log.info("curate %s: %s", stage, ", ".join(f"{k}={v}" for k, v in counters.items()))
        self.state["prepare"] = {"key": key, "finished_at": _now()}
        self.save()

    def build(self) -> Path:
        """The build: the given directory, or the recipe built into OUT/build (skipped when the recipe file
        and the catalog are unchanged since this experiment built it)."""
        cfg = self.exp.config
        if cfg.build:
            d = Path(self.exp.rel(cfg.build))
            man = read_manifest(d)
            bid = self._build_id(d, man)
            self.state["build"] = {"dir": str(d), "build_id": bid, "name": man.get("name"),
                                   "recipe_sha256": man.get("recipe_sha256")}
            return d
        from distillate.curate.build import build, load_recipe

        recipe = load_recipe(self.exp.rel(cfg.recipe))
        full_sha = key_of(dataclasses.asdict(recipe))
        d = self.out / "build"
        with self.ws.reader() as cat:
            fingerprint = cat.scalar("build/fingerprint")
        prev = self.state["build"]
        if (prev.get("recipe_file_sha256") == full_sha and prev.get("catalog_fingerprint") == fingerprint
                and (d / "manifest.json").is_file()
                and sha256_file(d / "manifest.json") == prev.get("manifest_sha256")):
            log.info("build %s: same recipe and catalog as before (skipped)", d)
            return d
        log.info("build %s -> %s", cfg.recipe, d)
        res = build(self.ws, recipe, d, show_progress=self.show_progress)
        man = read_manifest(d)
        self.state["build"] = {"dir": str(d), "build_id": f"{res.job_id}/base", "name": res.name,
                               "recipe_sha256": man["recipe_sha256"], "recipe": self.exp.rel(cfg.recipe),
                               "recipe_file_sha256": full_sha, "catalog_fingerprint": fingerprint,
                               "manifest_sha256": sha256_file(d / "manifest.json"),
                               "variants": {v.variant or "base": f"{res.job_id}/{v.variant or 'base'}"
                                            for v in res.variants}}
        self.save()
        return d

    def _build_id(self, d: Path, man: dict) -> str | None:
        if not self.ws.exists():
            return None
        with self.ws.reader() as cat:
            rows = cat.query("lineage/build_of_dir", {"out_dir": str(d.resolve()),
                                                      "recipe_sha256": man.get("recipe_sha256")})
        return rows[0]["build_id"] if rows else None

    def base_model(self, plan: Plan) -> str:
        """The base model's path or id; `tiny` is made (once per content) in WORKSPACE/models/."""
        cfg = self.exp.config
        if cfg.base_model != TINY:
            p = Path(self.exp.rel(cfg.base_model))
            return str(p) if p.is_dir() else cfg.base_model
        d = self.ws.root / "models" / plan.base_model_id
        if not (d / "config.json").is_file():
            from distillate.train.tiny import make_tiny_model, make_tiny_tokenizer

            log.info("making the tiny base model %s (tokenizer trained on %s)", d, plan.build_dir / "sft.jsonl")
            tmp = d.with_name(d.name + ".tmp")
            make_tiny_tokenizer(_texts(plan.build_dir / "sft.jsonl"), tmp / "tokenizer", cfg.tiny.vocab_size)
            make_tiny_model(tmp / "tokenizer", tmp / "model", hidden=cfg.tiny.hidden_size, layers=cfg.tiny.layers,
                            seed=cfg.tiny.seed)
            d.parent.mkdir(parents=True, exist_ok=True)
            os.replace(tmp / "model", d)
        self.state["base_model_path"] = str(d)
        return str(d)

    def write_subsets(self, plan: Plan) -> None:
        """Each size variant as a build-like folder (sft.jsonl, manifest.json naming its parent build)."""
        for v in plan.variants:
            if v.kind != "size":
                continue
            parent = Path(v.subset["parent"])
            lines, _ = subset_lines(parent, v.subset["n"], v.subset["seed"])
            d = v.build_dir
            d.mkdir(parents=True, exist_ok=True)
            tmp = d / "sft.jsonl.tmp"
            tmp.write_bytes(b"".join(lines))
            os.replace(tmp, d / "sft.jsonl")
            pman = read_manifest(parent)
            ids = [orjson.loads(x).get("trace_id") for x in lines]
            man = {
                "format_version": 1, "kind": "subset", "name": pman.get("name"), "variant": v.name,
                "recipe_sha256": pman.get("recipe_sha256"),
                "parent": {"dir": str(parent), "manifest_sha256": sha256_file(parent / "manifest.json"),
                           "variant": v.subset["parent_variant"], "rows": v.subset["of_rows"],
                           "build_id": (self.state["build"].get("variants") or {}).get(v.subset["parent_variant"])
                           or (self.state["build"].get("build_id") if v.subset["parent_variant"] == "base" else None),
                           "how": f"first {v.subset['n']} of a permutation of the parent's rows (seed "
                                  f"{v.subset['seed']}), in the parent's order"},
                "counts": {"kept": len(lines)}, "data_fingerprint": v.data_fingerprint,
                "files": {"sft.jsonl": {"sha256": v.data_fingerprint, "bytes": (d / "sft.jsonl").stat().st_size}},
                "decontamination": self._subset_decontam(pman.get("decontamination"), ids),
            }
            write_json_atomic(d / "manifest.json", man)

    def _subset_decontam(self, parent: list | None, trace_ids: list[str]) -> list | None:
        """The parent's scan records, with this subset's kept traces that match each benchmark: none where
        the parent kept none, else counted from the catalog (None: unknown, no catalog at hand)."""
        if parent is None:
            return None
        per: dict[str, int] | None = None
        if any(d.get("kept_traces_matched") for d in parent) and self.ws.exists():
            ids, per = set(trace_ids), {}
            with self.ws.reader() as cat:
                for r in cat.query("experiment/contaminated_traces"):
                    if r["trace_id"] in ids:
                        for b in r["benchmarks"] or []:
                            per[b] = per.get(b, 0) + 1
        out = []
        for d in parent:
            kept = d.get("kept_traces_matched")
            if kept:
                kept = per.get(d["benchmark"], 0) if per is not None else None
            out.append({**d, "candidate_traces_matched": None, "kept_traces_matched": kept})
        return out

    # -- runs -----------------------------------------------------------------------------------------
    def _train(self, run: Run, plan: Plan, model: str) -> dict:
        import yaml

        from distillate.train import launch, train

        from .plan import train_settings

        v = next(x for x in plan.variants if x.name == run.variants[0])
        settings = train_settings(self.exp, model, run.name, plan.stage1_dir)
        rdir = self.out / "recipes"
        rdir.mkdir(parents=True, exist_ok=True)
        recipe = rdir / f"{run.name}.yaml"
        recipe.write_text(yaml.safe_dump(settings, sort_keys=True), encoding="utf-8")
        cfg = self.exp.config
        if cfg.num_processes > 1 or cfg.accelerate_config:
            res = launch(self.ws, v.build_dir, recipe, num_processes=cfg.num_processes,
                         accelerate_config=self.exp.rel(cfg.accelerate_config), show_progress=self.show_progress)
        else:
            res = train(self.ws, v.build_dir, recipe, show_progress=self.show_progress)
        return {"run_id": run.name, "dir": str(res.run_dir), "final_model": str(res.final_model),
                "recipe": str(recipe),
                "stages": [{k: s.get(k) for k in ("stage", "rows", "steps", "first_loss", "last_loss", "seconds")}
                           for s in res.stages]}

    def _eval(self, run: Run, model: str) -> dict:
        from distillate.eval import EvalConfig, evaluate

        from .plan import eval_settings_resolved

        cfg = EvalConfig(model=model, **eval_settings_resolved(self.exp))
        res = evaluate(self.ws, cfg, self.out / "evals" / run.name, show_progress=self.show_progress)
        return {"run_id": res.run_id, "dir": str(res.out_dir), "model": model}

    def _ensure_recorded(self, run: Run, rec: dict) -> None:
        """A run found on disk may have ended before its catalog job: record it then."""
        if not rec.get("found_on_disk"):
            return
        with self.ws.reader() as cat:
            if run.kind == "train":
                known = cat.query("lineage/train_run", {"run_dir": rec["dir"]})
            else:
                known = cat.query("lineage/eval_by_id", {"id": rec["run_id"]})
        if known:
            return
        log.info("recording %s run %s in the catalog (it ended before its record)", run.kind, rec["run_id"])
        if run.kind == "train":
            from distillate.train.run import record_run

            record_run(self.ws, Path(rec["dir"]))
        else:
            from distillate.eval.run import record_saved

            record_saved(self.ws, rec["dir"])

    def execute(self, plan: Plan, base_model: str) -> None:
        runs = plan.runs
        models: dict[str, str] = {}  # variant -> trained weights
        total = len(runs)
        for i, run in enumerate(runs, 1):
            label = "baseline" if run.variants == ["baseline"] else ", ".join(run.variants)
            if run.kind == "eval" and run.variants != ["baseline"]:
                model = models[run.variants[0]]
            else:
                model = base_model
            if run.done:
                self._ensure_recorded(run, run.done)
                log.info("[%d/%d] %s %s: done before, skipped (%s)", i, total, run.kind, label, run.done["run_id"])
                rec = run.done
            else:
                log.info("[%d/%d] %s %s ...", i, total, run.kind, label)
                self._set_status(run, "training" if run.kind == "train" else "evaluating")
                started, t0 = _now(), time.monotonic()
                try:
                    rec = self._train(run, plan, model) if run.kind == "train" else self._eval(run, model)
                except BaseException as e:
                    self._set_status(run, "failed", f"{type(e).__name__}: {e}")
                    self.state["status"] = "failed"
                    self.save()
                    raise
                rec.update(kind=run.kind, key=run.key, status="done", started_at=started, finished_at=_now(),
                           seconds=round(time.monotonic() - t0, 2), variants=run.variants)
                log.info("[%d/%d] %s %s: done in %.1f s", i, total, run.kind, label, rec["seconds"])
            self.state["runs"][run.key] = rec
            if run.kind == "train":
                for v in run.variants:
                    models[v] = rec["final_model"]
            self._update_variants(plan, run, rec)
            self.save()

    def _set_status(self, run: Run, status: str, error: str | None = None) -> None:
        targets = [self.state["baseline"]] if run.variants == ["baseline"] else [
            v for v in self.state["variants"] if v["name"] in run.variants]
        for t in targets:
            t["status"] = status
            if error:
                t["error"] = error
        self.save()

    def _update_variants(self, plan: Plan, run: Run, rec: dict) -> None:
        from .report import metrics_of

        if run.variants == ["baseline"]:
            self.state["baseline"] = {"eval_run_id": rec["run_id"], "eval_dir": rec["dir"], "key": run.key,
                                      "metrics": metrics_of(Path(rec["dir"])), "status": "done",
                                      "started_at": rec.get("started_at"), "finished_at": rec.get("finished_at")}
            return
        for v in self.state["variants"]:
            if v["name"] not in run.variants:
                continue
            if run.kind == "train":
                v.update(train_run_id=rec["run_id"], train_dir=rec["dir"], final_model=rec["final_model"],
                         train_key=run.key, train_started_at=rec.get("started_at"),
                         train_finished_at=rec.get("finished_at"), status="trained")
            else:
                v.update(eval_run_id=rec["run_id"], eval_dir=rec["dir"], eval_key=run.key,
                         eval_started_at=rec.get("started_at"), eval_finished_at=rec.get("finished_at"),
                         metrics=metrics_of(Path(rec["dir"])), status="done")
                v.pop("error", None)

    def init_variants(self, plan: Plan) -> None:
        old = {v["name"]: v for v in self.state["variants"]}
        ids = self.state["build"].get("variants") or {}
        self.state["variants"] = []
        for v in plan.variants:
            rec = {"name": v.name, "kind": v.kind, "build_dir": str(v.build_dir),
                   "build_id": ids.get(v.name if v.kind != "base" else "base"), "rows": v.rows,
                   "data_fingerprint": v.data_fingerprint, "subset": v.subset,
                   "train_run_id": None, "train_dir": None, "eval_run_id": None, "eval_dir": None, "metrics": None,
                   "status": "pending"}
            prev = old.get(v.name)
            if prev and prev.get("train_key") == v.train_key and prev.get("eval_key") == v.eval_key:
                rec.update({k: prev[k] for k in prev if k not in ("kind", "build_dir", "rows", "data_fingerprint")})
            self.state["variants"].append(rec)
        self.save()

    def record(self) -> None:
        """experiment.json into the catalog's experiments table (a short job)."""
        with self.ws.job("experiment", {"out_dir": str(self.out), "name": self.state["name"]}) as (cat, job_id):
            cat.run("experiment/record", {
                "out_dir": str(self.out), "name": self.state["name"], "experiment_file": self.state["experiment_file"],
                "experiment_sha256": self.state["experiment_sha256"], "status": self.state["status"],
                "started_at": self.state["started_at"].rstrip("Z"),
                "finished_at": (self.state["finished_at"] or "").rstrip("Z") or None,
                "record": json.dumps(self.state, default=str), "job_id": job_id})


def prepare_key(exp: Experiment) -> str | None:
    """What ingest + curate depend on: the files (by content) and the settings; None when there is none."""
    cfg = exp.config
    if not cfg.ingest and cfg.curate is None:
        return None
    return key_of({"ingest": [dict(dataclasses.asdict(i), sha256=sha256_file(Path(exp.rel(i.path))))
                              for i in cfg.ingest],
                   "curate": dataclasses.asdict(cfg.curate) if cfg.curate else None})


def _texts(sft: Path):
    """The conversation texts of a build (what a tiny tokenizer is trained on)."""
    with open(sft, "rb") as f:
        for line in f:
            if line.strip():
                r = orjson.loads(line)
                for m in r.get("messages") or (r.get("prompt", []) + r.get("completion", [])):
                    yield m.get("content") or ""
                    if m.get("reasoning_content"):
                        yield m["reasoning_content"]


def plan_experiment(path: str | Path, out: str | Path | None = None, workspace: str | Path | None = None) -> dict:
    """The dry run: what `run_experiment` would do, as a dict (nothing is written)."""
    exp = load_experiment(path)
    out = Path(out or Path("experiments") / exp.config.name).resolve()
    ws = resolve_workspace(exp, out, workspace)
    state = json.loads((out / "experiment.json").read_text(encoding="utf-8")) if (out / "experiment.json").is_file() else {}
    cfg = exp.config
    build_dir: Path | None = None
    notes = []
    prep = None
    if cfg.ingest or cfg.curate is not None:
        done = (state.get("prepare") or {}).get("key") == prepare_key(exp) and ws.exists()
        prep = "skip" if done else "run"
    if cfg.build:
        build_dir = Path(exp.rel(cfg.build))
    elif (out / "build" / "manifest.json").is_file() and prep != "run":
        build_dir = out / "build"
        notes.append(f"rows and keys from the existing build {build_dir}; it is rebuilt first if the recipe "
                     "or the catalog changed")
    plan = make_plan(exp, build_dir, ws.root, out, state)
    return {
        "name": cfg.name, "out_dir": str(out), "workspace": str(ws.root), "base_model": cfg.base_model,
        "prepare": prep, "build": {"dir": str(build_dir) if build_dir else str(out / "build"),
                                   "from": "directory" if cfg.build else "recipe " + str(exp.rel(cfg.recipe))},
        "variants": [{"name": v.name, "kind": v.kind, "rows": v.rows, "build_dir": str(v.build_dir) if v.build_dir else None,
                      "data_fingerprint": v.data_fingerprint} for v in plan.variants],
        "runs": [{"kind": r.kind, "name": r.name, "variants": r.variants, "key": r.key,
                  "action": "skip (done)" if r.done else "run"} for r in plan.runs],
        "notes": notes + plan.notes,
    }


def run_experiment(path: str | Path, out: str | Path | None = None, workspace: str | Path | None = None,
                   show_progress: bool = True) -> dict:
    """Run (or resume) the experiment; returns experiment.json's content."""
    exp = load_experiment(path)
    out = Path(out or Path("experiments") / exp.config.name).resolve()
    out.mkdir(parents=True, exist_ok=True)
    ws = resolve_workspace(exp, out, workspace)
    ex = Experimenter(exp, out, ws, show_progress)
    ex.state.pop("error", None)
    ex.save()
    try:
        ex.prepare()
        if not ws.exists():
            raise DistillateError(f"no catalog in {ws.root}: the experiment needs a workspace with the build's "
                                  "data (or ingest: and curate: sections)")
        build_dir = ex.build()
        plan = make_plan(exp, build_dir, ws.root, out, ex.state)
        base = ex.base_model(plan)
        ex.write_subsets(plan)
        ex.init_variants(plan)
        ex.execute(plan, base)
        from .report import write_reports

        reference = exp.rel(exp.config.reference)
        ex.state["status"] = "ok"
        ex.state["finished_at"] = _now()
        ex.state["attempts"][-1]["finished_at"] = ex.state["finished_at"]
        ex.save()
        # the index is scored from the records just saved (experiment.json, run.json, results.json)
        from .transparency import score_experiment

        index = score_experiment(out, ws.root)
        ex.state["transparency_index"] = {"total": index["total"], "dimensions": index["dimensions"],
                                          "file": "transparency.json"}
        write_json_atomic(out / "transparency.json", index)
        ex.state["outputs"] = write_reports(ex.state, out, reference, index)
        ex.save()
    except BaseException as e:
        if ex.state["status"] != "failed":
            ex.state["status"] = "failed"
            ex.state.setdefault("error", f"{type(e).__name__}: {e}")
            ex.save()
        if ws.exists() and not isinstance(e, KeyboardInterrupt):
            try:
                ex.record()
            except DistillateError:
                pass
        raise
    ex.record()
    return ex.state
