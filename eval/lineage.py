"""Lineage: which training run and build a model came from, and the whole chain for `distillate lineage`.

The chain is read from the files each step writes (a build's manifest.json, a train run's run.json, an eval
run's results.json) and completed from the catalog when one is at hand (build ids, train job ids, the eval
runs of a train run):

    sources -> build (recipe, decontamination scan) -> train run (settings, stages) -> eval runs

`model_lineage(model)` resolves a model path: a train run's `stageN/final` (or a checkpoint under it) ->
run.json -> the build of each stage trained so far. `decontam_checks` compares the benchmarks an eval
runs with those builds' decontamination records (manifest `decontamination`): a benchmark that was not
scanned, was scanned in another version, or had matches is a warning, recorded in results.json."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from pathlib import Path

from distillate.errors import DistillateError
from distillate.log import log


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return None


def _sha256(path: Path) -> str | None:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return None


def build_info(build_dir: str | Path, expected_sha256: str | None = None) -> dict:
    """A build folder as the lineage shows it (any folder with manifest.json + sft.jsonl: a build, one of
    its ablations, or an experiment's size subset, whose manifest names its parent)."""
    d = Path(build_dir)
    man = _read_json(d / "manifest.json")
    sha = _sha256(d / "manifest.json")
    info = {"dir": str(d), "exists": man is not None, "manifest_sha256": sha}
    if expected_sha256 is not None:
        info["manifest_changed"] = sha != expected_sha256  # rebuilt (or edited) since it was trained on
    if man is None:
        return info
    info.update({
        "name": man.get("name"), "variant": man.get("variant") or "", "kind": man.get("kind", "build"),
        "recipe_sha256": man.get("recipe_sha256"), "rows": (man.get("counts") or {}).get("kept"),
        "catalog_fingerprint": (man.get("catalog") or {}).get("fingerprint"),
        "data_sha256": ((man.get("files") or {}).get("sft.jsonl") or {}).get("sha256"),
        "parent": man.get("parent"),
        "decontamination": man.get("decontamination"),   # None: a build made before it was recorded
    })
    return info


def train_run_of(model: str | Path) -> dict | None:
    """The train run whose weights sit at `model` (runs/<name>/stageN/final, or a folder under a run with
    run.json), else None. Returns run.json's links plus which stage's weights these are."""
    p = Path(str(model))
    if not p.is_dir():
        return None
    p = p.resolve()
    run_dir = next((c for c in [p, *p.parents][:4] if (c / "run.json").is_file()), None)
    if run_dir is None:
        return None
    run = _read_json(run_dir / "run.json")
    if not run or "stages" not in run:
        return None
    stages = run["stages"]
    stage = next((s["stage"] for s in stages if Path(s.get("output_dir", "")).resolve() in (p, *p.parents)),
                 stages[-1]["stage"] if p == run_dir else None)
    if stage is None:
        return None
    return {"run_name": run.get("run_name"), "run_dir": str(run_dir), "stage": stage,
            "base_model": run.get("base_model"), "final_model": run.get("final_model"),
            "settings": run.get("settings"),
            "stages": [{k: s.get(k) for k in ("stage", "data", "rows", "steps", "first_loss", "last_loss", "seconds",
                                               "build_manifest_sha256", "build_name", "build_variant", "final")}
                       for s in stages]}


def model_lineage(model: str | Path) -> dict:
    """{"model", "train_run" (or None), "builds": the build of every stage up to the evaluated one}."""
    tr = train_run_of(model)
    out = {"model": str(model), "train_run": tr, "builds": []}
    if tr is None:
        return out
    for s in tr["stages"]:
        if s["stage"] > tr["stage"]:
            break
        b = build_info(Path(s["data"]).parent, s.get("build_manifest_sha256"))
        b["stage"] = s["stage"]
        out["builds"].append(b)
    return out


def decontam_checks(lineage: dict, fingerprints: dict[str, str]) -> dict:
    """Compare each evaluated benchmark (name -> content fingerprint of the items evaluated) with the
    decontamination records of every build the model was trained on. Returns {"benchmarks": {name:
    [check per build]}, "warnings": [...]}; empty when the model has no training build."""
    res: dict = {"benchmarks": {}, "warnings": []}
    warn = res["warnings"]
    for b in lineage.get("builds", []):
        where = f"training build {b['dir']} (stage {b['stage']})"
        if not b["exists"]:
            warn.append(f"{where} is gone: its decontamination cannot be checked")
            continue
        if b.get("manifest_changed"):
            warn.append(f"{where} was rebuilt or edited after training (manifest sha256 differs from run.json)")
        recs = b.get("decontamination")
        if recs is None:
            warn.append(f"{where} records no per-benchmark decontamination (built before it was recorded): "
                        "rebuild it to check")
        by_name = {r["benchmark"]: r for r in recs or []}
        for name, fp in fingerprints.items():
            r = by_name.get(name)
            check = {"build": b["dir"], "stage": b["stage"], "scanned": r is not None and recs is not None}
            if r is not None:
                check.update(fingerprint=r.get("fingerprint"), same_version=r.get("fingerprint") == fp,
                             matched_problems=r.get("matched_problems", 0),
                             kept_traces_matched=r.get("kept_traces_matched"))
            res["benchmarks"].setdefault(name, []).append(check)
            if recs is None:
                continue
            if r is None:
                warn.append(f"{name} was not in the decontamination scan of {where}: its overlap with the "
                            "training data is unknown")
                continue
            if r.get("fingerprint") and r["fingerprint"] != fp:
                warn.append(f"{name}: {where} was scanned against another version of it (fingerprint "
                            f"{r['fingerprint']}, evaluated {fp})")
            if r.get("matched_problems"):
                kept = r.get("kept_traces_matched")
                warn.append(f"{name} had {r['matched_problems']} matched problem(s) in the catalog of {where}"
                            + (f"; {kept} of its kept trace(s) match it" if kept else
                               "; none of its kept traces match it" if kept == 0 else ""))
    return res


# -- the chain for `distillate lineage` ---------------------------------------------------------------

def _catalog_rows(ws, name: str, params: dict) -> list[dict]:
    if ws is None or ws.current_snapshot() is None:
        return []
    with ws.reader() as cat:
        return cat.query(name, params)


def _eval_entry(res: dict, out_dir: str) -> dict:
    return {"run_id": res.get("run_id"), "out_dir": out_dir, "model": res.get("model"),
            "benchmarks": {b: {"accuracy": m["accuracy"], "mean_tokens": m["tokens"]["mean"]}
                           for b, m in (res.get("benchmarks") or {}).items()},
            "warnings": (res.get("decontamination") or {}).get("warnings", [])}


def _sources(ws, dirs: list[str]) -> list[dict]:
    """Rows per source of the builds' sft.jsonl files (the build, and every stage's data of the train
    runs shown), with kind and licence from the catalog."""
    counts: Counter = Counter()
    for d in dict.fromkeys(dirs):
        sft = Path(d) / "sft.jsonl"
        if not sft.is_file():
            continue
        with open(sft, "rb") as f:
            for line in f:
                if line.strip():
                    counts[json.loads(line).get("source")] += 1
    known = {r["source"]: r for r in _catalog_rows(ws, "lineage/sources", {})}
    return [{"source": s, "rows": n, "kind": known.get(s, {}).get("kind"), "license": known.get(s, {}).get("license")}
            for s, n in sorted(counts.items(), key=lambda x: (-x[1], str(x[0])))]


def _with_catalog(ws, build: dict | None) -> dict | None:
    if build and build.get("exists"):
        rows = _catalog_rows(ws, "lineage/build_of_dir", {"out_dir": str(Path(build["dir"]).resolve()),
                                                         "recipe_sha256": build.get("recipe_sha256")})
        build["build_id"] = rows[0]["build_id"] if rows else None
        if build.get("parent"):
            build["parent_build"] = build_info(build["parent"]["dir"])
    return build


def _train_entry(ws, tr: dict, evals: list[dict] | None = None) -> dict:
    rows = _catalog_rows(ws, "lineage/train_run", {"run_dir": tr["run_dir"]})
    tr = dict(tr, job_id=rows[0]["job_id"] if rows else None, recorded_at=str(rows[0]["created_at"]) if rows else None)
    if evals is None:
        evals = []
        for r in _catalog_rows(ws, "lineage/evals_of_train_run", {"run_dir": tr["run_dir"]}):
            res = _read_json(Path(r["out_dir"]) / "results.json") or {
                "run_id": r["run_id"], "model": r["model"], "benchmarks": {}}
            evals.append(_eval_entry(res, r["out_dir"]))
    tr["eval_runs"] = evals
    return tr


def _resolve_target(ws, target: str) -> tuple[str, Path]:
    p = Path(target)
    if p.is_dir():
        p = p.resolve()
        if (p / "experiment.json").is_file():
            return "experiment", p
        if (p / "results.json").is_file():
            return "eval", p
        if (p / "manifest.json").is_file() and (p / "sft.jsonl").is_file():
            return "build", p
        if train_run_of(p) is not None:
            return "train", p
        raise DistillateError(f"{p} is neither an experiment, an eval run, a build nor a train run folder")
    for kind, query, col in (("eval", "lineage/eval_by_id", "out_dir"), ("train", "lineage/train_by_name", "run_dir"),
                             ("build", "lineage/build_by_id", "out_dir")):
        rows = _catalog_rows(ws, query, {"id": target})
        if rows:
            return kind, Path(rows[0][col])
    raise DistillateError(f"{target!r} is not a folder, nor an eval run id, train run name or build id in "
                          f"{ws.root if ws is not None else 'the workspace'}")


def lineage(ws, target: str) -> dict:
    """The chain of an eval run, train run, build or experiment (a folder, or an id from the catalog):
    {"target", "sources", "build", "train_runs": [{..., "eval_runs": [...]}], "eval_runs" (of a model no
    train run made)}."""
    kind, path = _resolve_target(ws, target)
    out: dict = {"target": {"kind": kind, "path": str(path)}, "sources": [], "build": None, "train_runs": [],
                 "eval_runs": []}
    if kind == "experiment":
        exp = _read_json(path / "experiment.json") or {}
        out["experiment"] = {"name": exp.get("name"), "status": exp.get("status"),
                             "variants": [{k: v.get(k) for k in ("name", "kind", "build_dir", "train_dir",
                                                                  "eval_dir", "status")}
                                          for v in exp.get("variants", [])]}
        bdir = (exp.get("build") or {}).get("dir")
        if bdir:
            out["build"] = _with_catalog(ws, build_info(bdir))
        for d in dict.fromkeys(v["train_dir"] for v in exp.get("variants", []) if v.get("train_dir")):
            if tr := train_run_of(d):
                out["train_runs"].append(_train_entry(ws, tr))
        out["sources"] = _sources(ws, _data_dirs(out))
        base = exp.get("baseline") or {}
        if base.get("eval_dir") and (res := _read_json(Path(base["eval_dir"]) / "results.json")):
            out["eval_runs"].append(_eval_entry(res, base["eval_dir"]))
        return out
    if kind == "eval":
        res = _read_json(path / "results.json") or {}
        lin = res.get("lineage") or model_lineage(res.get("model", ""))
        entry = _eval_entry(res, str(path))
        if lin.get("train_run"):
            out["train_runs"].append(_train_entry(ws, lin["train_run"], [entry]))
            out["build"] = _with_catalog(ws, build_info(lin["builds"][-1]["dir"])) if lin["builds"] else None
        else:
            out["eval_runs"].append(entry)
    elif kind == "train":
        tr = train_run_of(path)
        out["train_runs"].append(_train_entry(ws, tr))
        data = next(s["data"] for s in tr["stages"] if s["stage"] == tr["stage"])
        out["build"] = _with_catalog(ws, build_info(Path(data).parent))
    else:
        out["build"] = _with_catalog(ws, build_info(path))
        for r in _catalog_rows(ws, "lineage/train_runs_of_build", {"build_dir": str(path)}):
            tr = train_run_of(r["run_dir"])
            if tr is not None:
                out["train_runs"].append(_train_entry(ws, tr))
            else:
                log.info("train run %s is recorded but its folder is gone", r["run_dir"])
    out["sources"] = _sources(ws, _data_dirs(out))
    return out


def _data_dirs(chain: dict) -> list[str]:
    dirs = [chain["build"]["dir"]] if chain.get("build") else []
    return dirs + [str(Path(s["data"]).parent) for tr in chain["train_runs"] for s in tr["stages"] if s.get("data")]


def render_lineage(chain: dict, console) -> None:
    from rich.markup import escape
    from rich.tree import Tree

    t = chain["target"]
    root = Tree(f"[bold]lineage of {t['kind']}[/] {escape(t['path'])}")
    src = root.add("[bold]sources[/] (rows of the training data shown; a row in several sets counts in each)"
                   if chain["sources"] else "[bold]sources[/]: none found (no build)")
    for s in chain["sources"]:
        src.add(f"{escape(str(s['source']))}: {s['rows']:,} row(s), {s['kind'] or '?'}, "
                f"licence {escape(str(s['license'] or 'NOT RECORDED'))}")
    b = chain["build"]
    node = root
    if b:
        label = f"{b.get('name')}{' / ' + b['variant'] if b.get('variant') else ''}"
        node = root.add(f"[bold]build[/] {escape(str(label))} {escape(b['dir'])}: {b.get('rows') or 0:,} rows, "
                        f"build id {b.get('build_id') or '(not in this catalog)'}, recipe sha256 "
                        f"{(b.get('recipe_sha256') or '?')[:16]}")
        if b.get("parent"):
            node.add(f"subset of {escape(str(b['parent'].get('dir')))} ({b['parent'].get('how', '')})")
        dec = b.get("decontamination")
        if dec is None:
            node.add("decontamination: not recorded in this manifest")
        else:
            node.add("decontamination: " + ("; ".join(
                f"{d['benchmark']} {d['matched_problems']} matched problem(s), {d.get('kept_traces_matched', '?')} "
                f"kept trace(s)" for d in dec) or "no benchmark scanned"))
    for tr in chain["train_runs"]:
        tn = node.add(f"[bold]train run[/] {escape(str(tr['run_name']))} {escape(tr['run_dir'])} from "
                      f"{escape(str(tr['base_model']))} (job {tr.get('job_id') or 'not in this catalog'})")
        for s in tr["stages"]:
            loss = " -> ".join(f"{x:.3f}" if isinstance(x, (int, float)) else "?" for x in (s["first_loss"], s["last_loss"]))
            tn.add(f"stage {s['stage']}: {s['rows']} rows of {escape(str(s['data']))}, {s['steps']} steps, loss {loss}")
        _render_evals(tn, tr["eval_runs"])
    _render_evals(node, chain["eval_runs"])
    if chain.get("experiment"):
        en = root.add(f"[bold]experiment[/] {escape(str(chain['experiment']['name']))}: "
                      f"{chain['experiment']['status']}")
        for v in chain["experiment"]["variants"]:
            en.add(f"{v['name']} ({v['kind']}): {v['status']}, eval {escape(str(v.get('eval_dir')))}")
    console.print(root)


def _render_evals(node, evals: list[dict]) -> None:
    from rich.markup import escape

    for e in evals:
        en = node.add(f"[bold]eval run[/] {e['run_id']} {escape(e['out_dir'])}: " + ", ".join(
            f"{b} {100 * m['accuracy']:.1f}% ({m['mean_tokens']:.0f} tokens)" for b, m in e["benchmarks"].items()))
        for w in e["warnings"]:
            en.add(f"[yellow]warning[/]: {escape(w)}")
