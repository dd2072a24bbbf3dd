"""The Technical Transparency Index of "O1 Replication Journey - Part 2" (arXiv 2411.16489), scored item by
item from what a build or an experiment recorded.

The checklist (25 questions in four dimensions: data 14, methodology 33, evaluation 24, open source 29 points)
and the paper's leaderboard of seven replication efforts are the paper's published framework, transcribed
below from its figures (tests/test_transparency.py checks them against the shared reference transcription).
Every item gets one status:

  derived          earned or not from the catalog and the files; the evidence names the table/file and numbers
  declared         a fact no record can show (weights or a paper published, hardware, code released), stated in
                   the `transparency:` section of the recipe (a build) or the experiment YAML
  not applicable   the run has no part the item asks about (no search procedure, no RL stage). Counted as met,
                   the rule the paper's leaderboard applies to its own SFT-only Part 2 (full 33 methodology
                   points); the output says how many points came from this rule.

Nothing else is granted without a record. A build's facts are gathered while it is built (`build_facts`,
stored in manifest.json under `transparency`), so its score is what the catalog held then:

    score(path)              a build folder (manifest.json) or an experiment folder (experiment.json)
    score_build(dir), score_experiment(dir, workspace=None), score_manifest(manifest)
    -> {"total", "maximum", "dimensions": {d: {"score", "maximum"}}, "items": [{"question", "dimension",
        "points", "earned", "status", "evidence", "key"}], "not_applicable", "leaderboard", "rank", ...}
"""

from __future__ import annotations

import hashlib
import json
import math
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distillate.errors import DistillateError

REFERENCE = "O1 Replication Journey - Part 2 (arXiv:2411.16489)"
CITATION = ("Huang, Zou, Li, Liu, Zheng, Chern, Xia, Qin, Yuan, Liu: \"O1 Replication Journey - Part 2: Surpassing "
            "O1-preview through Simple Distillation, Big Progress or Bitter Lesson?\" (arXiv:2411.16489, 2024), "
            "Technical Transparency Index: checklist and leaderboard figures")

DERIVED, DECLARED, NOT_APPLICABLE = "derived", "declared", "not applicable"
DIMENSIONS = {"data": 14, "methodology": 33, "evaluation": 24, "open_source": 29}
NA_RULE = ("items that apply to nothing in the run (no search procedure, no RL stage, no custom metric) count as "
           "met, as the paper's leaderboard counts them for its own SFT-only Part 2 (full 33 methodology points)")
FACTS_VERSION = 1


@dataclass(frozen=True)
class Question:
    key: str          # distillate's name for the item (the `transparency:` key when it can be declared)
    dimension: str
    points: int
    question: str     # as the paper words it


# The paper's checklist, in its order.
CHECKLIST: tuple[Question, ...] = (
    Question("sources", "data", 3,
             "Are dataset names, sources, and providers explicitly documented and properly cited?"),
    Question("distributions", "data", 3,
             "Is there sufficient documentation of data distributions, formats, and characteristics to enable "
             "proper replication?"),
    Question("selection", "data", 4,
             "Are the criteria and methodology for data selection and filtering clearly justified and documented?"),
    Question("synthetic_data", "data", 4,
             "For synthetic data generation, is the entire process transparent, including prompting strategies "
             "and quality control measures?"),
    Question("base_model", "methodology", 4,
             "Is there a clear and complete description of the base model (including its architecture, size, etc.)?"),
    Question("search", "methodology", 6,
             "Is the complete search algorithm implementation (e.g., beam search, MCTS) detailed with all components?"),
    Question("rl", "methodology", 6,
             "Is the RL algorithm fully specified with its objective function and training procedure?"),
    Question("curation", "methodology", 6,
             "Is the long thought data curation/generation algorithm thoroughly explained with its complete workflow?"),
    Question("training_pipeline", "methodology", 3,
             "Is the complete training pipeline documented, including all stages and their sequence?"),
    Question("compute", "methodology", 2,
             "Are the computational requirements and infrastructure details provided?"),
    Question("hyperparameters", "methodology", 2,
             "Is there clear documentation of all training hyperparameters and optimization choices?"),
    Question("ablations", "methodology", 4,
             "Are there comprehensive ablation studies showing the contribution of each major component?"),
    Question("benchmarks", "evaluation", 4,
             "Is there a clear justification for the selection of evaluation benchmarks?"),
    Question("evaluation_level", "evaluation", 4,
             "Is the evaluation dimension clearly specified (e.g., answer-level, step-by-step level)?"),
    Question("metrics", "evaluation", 4,
             "Are all evaluation metrics (e.g., pass@k, maj@k) clearly defined?"),
    Question("custom_metrics", "evaluation", 4,
             "For any custom metrics (if exists), are they well-justified and clearly documented?"),
    Question("consistency", "evaluation", 4,
             "Are the evaluation metrics consistently applied across all baselines?"),
    Question("conditions", "evaluation", 4,
             "Are the evaluation conditions (e.g., temperature, top-p) explained for all compared methods?"),
    Question("post_training_data", "open_source", 3, "Is the post-training data publicly available?"),
    Question("long_thought_data", "open_source", 5, "Is the synthetic long thought data publicly available?"),
    Question("weights", "open_source", 5, "Are trained model weights publicly available?"),
    Question("training_code", "open_source", 4, "Is the complete training codebase publicly available?"),
    Question("evaluation_code", "open_source", 4, "Is the complete evaluation codebase publicly released?"),
    Question("usage_guide", "open_source", 4, "Are there step-by-step guidance and instruction for code usage?"),
    Question("paper", "open_source", 4,
             "Is there a comprehensive technical paper detailing all research aspects instead of a brief blog post?"),
)

# The paper's leaderboard (its figure), in its order.
LEADERBOARD: tuple[dict, ...] = (
    {"work": "Open O1", "data": 0, "methodology": 8, "evaluation": 20, "open_source": 5, "total": 33},
    {"work": "O1-Journey (Part1)", "data": 10, "methodology": 33, "evaluation": 24, "open_source": 9, "total": 76},
    {"work": "LLaMA-O1", "data": 0, "methodology": 6, "evaluation": 0, "open_source": 5, "total": 11},
    {"work": "K0Math", "data": 0, "methodology": 0, "evaluation": 16, "open_source": 0, "total": 16},
    {"work": "Skywork O1", "data": 0, "methodology": 0, "evaluation": 0, "open_source": 0, "total": 0},
    {"work": "DeepSeek-R1-Lite", "data": 0, "methodology": 0, "evaluation": 20, "open_source": 0, "total": 20},
    {"work": "O1-Journey (Part2)", "data": 10, "methodology": 33, "evaluation": 24, "open_source": 12, "total": 79},
)

# What the `transparency:` section may declare: facts no record can show. key -> what to write there.
DECLARABLE: dict[str, str] = {
    "data_generation": "where the generation of traces made outside this workspace (teacher, prompts, quality "
                       "checks) is documented",
    "search": "where a search procedure used to make the data (beam search, MCTS, ...) is specified; leave it out "
              "when none was used",
    "rl": "where an RL stage (objective, training procedure) is specified; leave it out when training is SFT only",
    "compute": "the hardware and infrastructure training and evaluation ran on (e.g. '8x H100 80GB, 14 h')",
    "post_training_data": "where the SFT set is published",
    "long_thought_data": "where the long-thought traces are published",
    "weights": "where the trained weights are published",
    "training_code": "where the training code is published",
    "evaluation_code": "where the evaluation code is published",
    "usage_guide": "where the step-by-step usage guide is",
    "paper": "the technical paper (URL or citation)",
}

# exclude reason -> the curation stage whose results it reads
_REASON_STAGE = {"contaminated": "decontam", "exact_duplicate": "dedup", "near_duplicate": "dedup",
                 "answer_incorrect": "verify", "no_answer": "verify", "truncated": "stats", "looping": "stats",
                 "unsuitable_problem": "stats"}
_CURATION_STAGES = ("stats", "verify", "dedup", "decontam")
# eval config keys that are not part of the evaluation protocol (where and how fast, not what)
_NOT_PROTOCOL = {"model", "endpoint", "tokenizer", "batch_size", "concurrency", "backend", "judge_endpoint",
                 "judge_api_key_env", "benchmarks_dir"}


def parse_declared(data: Any, origin: str = "transparency") -> dict[str, str | bool]:
    """Check a `transparency:` section: known keys only; each value says where (a URL or a citation: a
    non-empty string) or is false (explicitly not done). Returns the facts sorted by key."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise DistillateError(f"'transparency' in {origin} must be a mapping of declared facts "
                              f"({', '.join(DECLARABLE)})")
    out: dict[str, str | bool] = {}
    for k in sorted(data):
        v = data[k]
        if k not in DECLARABLE:
            raise DistillateError(f"unknown key 'transparency.{k}' in {origin}; declarable facts: "
                                  f"{', '.join(DECLARABLE)} (everything else is derived from the records)")
        if v is False:
            out[k] = False
        elif isinstance(v, str) and v.strip():
            out[k] = v.strip()
        else:
            raise DistillateError(f"'transparency.{k}' in {origin} must say where ({DECLARABLE[k]}: a URL or a "
                                  f"citation) or be false, got {v!r}")
    return out


# -- facts of a build (gathered inside the build job) ------------------------------------------------

def scanned_benchmarks(manifest: dict, cat=None) -> list[dict]:
    """Every benchmark the build's candidates were scanned against, zero matches included: {benchmark,
    fingerprint, items, matched_problems, matched_items, methods[, scanned_at]}. manifest.json's own
    `decontamination` list when the build recorded one, else the facts the index stored, else the catalog's
    decontam_benchmarks (the one place to switch when manifest.json carries the list)."""
    if "decontamination" in manifest:
        return list(manifest["decontamination"])
    facts = manifest.get("transparency") or {}
    if "decontamination" in facts:
        return list(facts["decontamination"])
    if cat is None:
        return []
    return [{"benchmark": r["benchmark"], "fingerprint": r["fingerprint"], "items": r["items"],
             "matched_problems": r["matched_problems"], "matched_items": r["matched_items"],
             "methods": list(r["methods"] or []), "scanned_at": r["scanned_at"]}
            for r in cat.query("experiment/tti_scanned_benchmarks")]


def build_facts(cat, manifest: dict, sel, ctx, declared: dict) -> dict:
    """The facts one build variant's index is scored from, as the catalog holds them now (called by the
    build job; stored in manifest.json under `transparency`). Deterministic: no clock, no paths."""
    import polars as pl

    kept = sel.kept
    kept_ids = set(kept["trace_id"].to_list())
    kinds = {s["source"]: s for s in ctx.sources}
    per: dict[str, list[int]] = {}
    generated_ids = set()
    for tid in sel.rows["trace_id"].to_list():
        for src in ctx.trace_sources.get(tid, []):
            e = per.setdefault(src, [0, 0])
            e[0] += 1
            if tid in kept_ids:
                e[1] += 1
                if (kinds.get(src) or {}).get("kind") == "generated":
                    generated_ids.add(tid)
    sources = [{"source": s, "kind": (kinds.get(s) or {}).get("kind"), "license": (kinds.get(s) or {}).get("license"),
                "description": (kinds.get(s) or {}).get("description"), "candidates": c, "kept": k}
               for s, (c, k) in sorted(per.items())]
    generation = [{k: (list(v) if isinstance(v, list) else v) for k, v in r.items()}
                  for r in cat.query("experiment/tti_generation") if r["source"] in per]
    gen = kept.filter(pl.col("trace_id").is_in(list(generated_ids)))
    reformatted = kept.filter(pl.col("parent_trace_id").is_not_null())
    contaminated: dict[str, int] = {}
    for bs in kept["contaminated_benchmarks"].to_list():
        for b in bs or []:
            contaminated[b] = contaminated.get(b, 0) + 1
    scans = [{k: v for k, v in d.items() if k != "scanned_at"} for d in scanned_benchmarks(manifest, cat)]
    return {
        "version": FACTS_VERSION,
        "sources": sources,
        "generation": generation,
        "kept": kept.height,
        "verified_kept": int(kept["verdict"].is_not_null().sum()),
        "generated_kept": gen.height,
        "generated_verified": int(gen["verdict"].is_not_null().sum()),
        "reformatted_kept": reformatted.height,
        "reformat_checked": int(reformatted["reformat_passed"].is_not_null().sum()),
        "reformat_passed": int(reformatted["reformat_passed"].fill_null(False).sum()),
        "decontamination": scans,
        "contaminated_kept": dict(sorted(contaminated.items())),
        "declared": dict(declared),
    }


# -- what a score is computed from ---------------------------------------------------------------------

@dataclass
class _Inputs:
    kind: str                                   # build | experiment
    name: str
    manifest: dict | None                       # the (base) build's manifest.json
    declared: dict = field(default_factory=dict)
    runs: list[dict] = field(default_factory=list)     # {"label", "run": run.json, "source"}
    evals: list[dict] = field(default_factory=list)    # {"label", "results", "samples": bool, "source"}
    variants: list[dict] = field(default_factory=list)  # experiment variants, each with "facts" of its build
    missing_runs: list[str] = field(default_factory=list)
    missing_evals: list[str] = field(default_factory=list)
    base_model: str | None = None
    model_dirs: list[Path] = field(default_factory=list)  # folders that may hold the base model's config

    @property
    def facts(self) -> dict | None:
        return (self.manifest or {}).get("transparency")


def _n(x) -> str:
    return f"{x:,}" if isinstance(x, int) and not isinstance(x, bool) else str(x)


def _list(xs, limit: int = 6) -> str:
    xs = list(xs)
    return ", ".join(map(str, xs[:limit])) + (f" and {len(xs) - limit} more" if len(xs) > limit else "")


def _dec(x: _Inputs, key: str):
    return x.declared.get(key)


# -- data ------------------------------------------------------------------------------------------------

def _no_facts(x: _Inputs):
    return DERIVED, False, ("the build's manifest.json holds no transparency facts (built before distillate "
                            "recorded them): rebuild it")


def _gen_of(f: dict, source: str) -> list[dict]:
    return [g for g in f.get("generation", []) if g["source"] == source]


def _item_sources(x: _Inputs):
    f = x.facts
    if f is None:
        return _no_facts(x)
    srcs = [s for s in f["sources"] if s["kept"]]
    if not srcs:
        return DERIVED, False, "the set keeps no row, so no source is cited"
    cited, missing = [], []
    for s in srcs:
        if s["kind"] == "generated":
            models = sorted({m for g in _gen_of(f, s["source"]) for m in g["models"]})
            (cited if models else missing).append(
                f"{s['source']} (generated here by {_list(models)}, gen_requests; {_n(s['kept'])} kept)" if models
                else f"{s['source']} (generated, but no gen_requests journal names its model)")
        else:
            (cited if s["license"] else missing).append(
                f"{s['source']} ({s['license']}; {_n(s['kept'])} kept)" if s["license"]
                else f"{s['source']} ({_n(s['kept'])} kept rows, no licence recorded: ingest --license)")
    if missing:
        return DERIVED, False, "sources table: " + "; ".join(missing) + (
            f"; cited: {'; '.join(cited)}" if cited else "")
    return DERIVED, True, (f"sources table: {len(srcs)} source(s) carry the kept rows, each with its provider "
                           f"recorded: {'; '.join(cited)}; every row keeps its file and line (trace_sources)")


def _item_distributions(x: _Inputs):
    m = x.manifest
    if m is None or x.facts is None:
        return _no_facts(x)
    kept, tok = m["counts"]["kept"], m["tokens"]
    fmt = m["recipe"]["format"]
    if not kept:
        return DERIVED, False, "the set keeps no row"
    if tok["rows_without_token_count"] or not tok["signals_tokenizers"]:
        return DERIVED, False, (f"manifest.json tokens: {_n(tok['rows_without_token_count'])} of {_n(kept)} kept rows "
                                "have no token count (the stats stage has not measured them), so the length "
                                "distribution is not documented")
    return DERIVED, True, (f"manifest.json: {_n(kept)} kept rows, {_n(tok['n_tokens'])} tokens (thought "
                           f"{_n(tok['thought_tokens'])}, solution {_n(tok['solution_tokens'])}) counted with "
                           f"{_list(tok['signals_tokenizers'])}; format {fmt['style']}/{fmt['reasoning']}; length "
                           "quantiles, verdicts and sources in DATACARD.md")


def _item_selection(x: _Inputs):
    m, f = x.manifest, x.facts
    if m is None or f is None:
        return _no_facts(x)
    counts, recipe = m["counts"], m["recipe"]
    ran = {r["stage"] for r in m["catalog"]["stage_runs"]}
    exclude = recipe["exclude"]
    ok, parts, why = True, [], []
    if counts["kept"] + counts["dropped"] != counts["candidates"]:
        ok = False
        why.append("kept + dropped does not add up to the candidates")
    top = sorted(((v, k) for k, v in counts["reasons"].items() if v), reverse=True)
    parts.append(f"recipe sha256 {m['recipe_sha256'][:12]} in manifest.json; dropped.jsonl gives each of the "
                 f"{_n(counts['dropped'])} dropped rows (of {_n(counts['candidates'])}) its reasons"
                 + (f" ({', '.join(f'{k} {_n(v)}' for v, k in top[:5])})" if top else ""))
    unbacked = [r for r in exclude if r in _REASON_STAGE and _REASON_STAGE[r] not in ran]
    if unbacked:
        ok = False
        why.append("excluded but never computed (the filter dropped nothing): "
                   + ", ".join(f"`{r}` ({_REASON_STAGE[r]} stage not run)" for r in unbacked))
    scans = f["decontamination"]
    if scans:
        parts.append("decontamination scanned " + "; ".join(
            f"{d['benchmark']} ({_n(d['items'])} items, {_n(d['matched_problems'])} problems matched)" for d in scans)
            + ("; `contaminated` excluded" if "contaminated" in exclude else "; `contaminated` NOT excluded"))
    else:
        ok = False
        why.append("no benchmark was scanned for contamination (decontam_benchmarks is empty: the decontam stage "
                   "has not run), so nothing shows the set is free of test problems")
    return DERIVED, ok, "; ".join(why + parts) if not ok else "; ".join(parts)


def _item_synthetic(x: _Inputs):
    f = x.facts
    if f is None:
        return _no_facts(x)
    kept, gen = f["kept"], f["generated_kept"]
    if not kept:
        return DERIVED, False, "the set keeps no row"
    parts, gaps = [], []
    for s in f["sources"]:
        if s["kind"] == "generated" and s["kept"]:
            for g in _gen_of(f, s["source"]):
                parts.append(f"{s['source']}: {g['kind']} by {_list(g['models'])}, {_n(g['completed'])} of "
                             f"{_n(g['requests'])} requests completed, {len(g['templates'])} prompt template(s) "
                             f"(template_hash; the prompt text is in the job's arguments), temperature "
                             f"{_list(g['temperatures']) or '-'}, top_p {_list(g['top_ps']) or '-'}")
            if not _gen_of(f, s["source"]):
                gaps.append(f"{s['source']} has no gen_requests journal")
    if gen:
        parts.append(f"quality checks: verdicts for {_n(f['generated_verified'])} of {_n(gen)} generated kept rows"
                     + (f"; reformat checks for {_n(f['reformat_checked'])} of {_n(f['reformatted_kept'])} rewritten "
                        f"rows ({_n(f['reformat_passed'])} passed)" if f["reformatted_kept"] else ""))
        if f["generated_verified"] < gen:
            gaps.append(f"{_n(gen - f['generated_verified'])} generated kept rows have no verdict")
        if f["reformat_checked"] < f["reformatted_kept"]:
            gaps.append(f"{_n(f['reformatted_kept'] - f['reformat_checked'])} rewritten rows have no reformat check")
    derived = "; ".join(parts)
    if gen == kept and not gaps:
        return DERIVED, True, f"all {_n(kept)} kept rows were generated here: {derived}"
    ingested = [s["source"] for s in f["sources"] if s["kept"] and s["kind"] != "generated"]
    d = _dec(x, "data_generation")
    if isinstance(d, str):
        return DECLARED, True, (f"declared: {d}" + (f"; derived: {_n(gen)} of {_n(kept)} kept rows generated here"
                                                   + (f" ({derived})" if derived else "") if gen else ""))
    why = gaps + ([f"{_n(kept - gen)} of {_n(kept)} kept rows come from ingested sources ({_list(ingested)}) whose "
                   "generation was not journaled here"] if kept > gen else [])
    if d is False:
        return DECLARED, False, "declared false (transparency.data_generation); " + "; ".join(why)
    return DERIVED, False, "; ".join(why) + ("; " + derived if derived else "") + (
        "; declare transparency.data_generation (where their generation is documented)" if kept > gen else "")


# -- methodology -----------------------------------------------------------------------------------------

def _safetensors_params(folder: Path) -> int | None:
    """Parameter count from the safetensors headers (no tensor is read)."""
    files = sorted(folder.glob("*.safetensors"))
    if not files:
        return None
    total = 0
    for f in files:
        with open(f, "rb") as fh:
            (n,) = struct.unpack("<Q", fh.read(8))
            header = json.loads(fh.read(n))
        total += sum(math.prod(v["shape"]) for k, v in header.items() if k != "__metadata__")
    return total


def _hub_config(name: str) -> Path | None:
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    try:
        p = try_to_load_from_cache(name, "config.json")
    except Exception:  # noqa: BLE001 - a malformed id is simply not cached
        return None
    return Path(p) if isinstance(p, str) else None


def _describe_model(x: _Inputs) -> tuple[str | None, str]:
    """(description with architecture and size, or None, where it was read)."""
    cands: list[tuple[Path, str]] = []
    if x.base_model:
        p = Path(x.base_model)
        if (p / "config.json").is_file():
            cands.append((p, "the base model's config.json"))
        else:
            c = _hub_config(x.base_model)
            if c is not None:
                cands.append((c.parent, "the base model's cached config.json"))
    cands += [(d, "the config.json of the trained weights (the same architecture)") for d in x.model_dirs
              if (d / "config.json").is_file()]
    for folder, where in cands:
        try:
            cfg = json.loads((folder / "config.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        arch = (cfg.get("architectures") or [cfg.get("model_type")])[0]
        params = _safetensors_params(folder)
        if not arch or params is None:
            continue
        size = f"{params / 1e9:.2f}B" if params >= 1e9 else f"{params / 1e6:.1f}M"
        shape = ", ".join(f"{k.replace('num_', '').replace('_', ' ')} {_n(cfg[k])}" for k in
                          ("num_hidden_layers", "hidden_size", "num_attention_heads", "vocab_size",
                           "max_position_embeddings") if k in cfg)
        return f"{arch} ({cfg.get('model_type', '?')}), {size} parameters, {shape}", where
    return None, "no config.json with safetensors weights could be read for it here"


def _item_base_model(x: _Inputs):
    if x.kind == "build":
        return DERIVED, False, "a build names no base model: score the experiment that trains on it"
    if not x.base_model:
        return DERIVED, False, "experiment.json names no base model"
    desc, where = _describe_model(x)
    if desc is None:
        return DERIVED, False, f"base model {x.base_model}: architecture and size not recorded ({where})"
    return DERIVED, True, f"base model {x.base_model}: {desc} (from {where})"


def _how_data_was_made(x: _Inputs) -> str:
    f = x.facts or {}
    gens = [g for g in f.get("generation", [])]
    kinds = sorted({s["kind"] for s in f.get("sources", []) if s["kept"]})
    txt = f"the kept traces were ingested or generated (source kinds: {_list(kinds) or 'none'})"
    if gens:
        txt += "; generation sampled completions (gen_requests: " + "; ".join(
            f"{g['source']} {_n(g['requests'])} requests" for g in gens) + ")"
    return txt + ", then filtered by the recipe"


def _item_search(x: _Inputs):
    d = _dec(x, "search")
    if isinstance(d, str):
        return DECLARED, True, f"declared: {d}"
    if x.facts is None:
        return _no_facts(x)
    return NOT_APPLICABLE, True, "no search procedure in the run: " + _how_data_was_made(x) + (
        " (declared false)" if d is False else "")


def _item_rl(x: _Inputs):
    d = _dec(x, "rl")
    if isinstance(d, str):
        return DECLARED, True, f"declared: {d}"
    if x.kind == "build":
        return DERIVED, False, "a build records no training: whether RL applies is known from an experiment"
    if not x.runs:
        return DERIVED, False, "no training run recorded"
    sft = [r for r in x.runs if str(r["run"].get("version", "")).startswith("train-") or "stages" in r["run"]]
    if len(sft) != len(x.runs):
        return DERIVED, False, "some runs are not distillate SFT runs; their procedure is not recorded"
    return NOT_APPLICABLE, True, (f"training is supervised fine-tuning only: {len(x.runs)} run(s) of distillate "
                                  "train (TRL SFTTrainer; run.json); no RL stage")


def _item_curation(x: _Inputs):
    m = x.manifest
    if m is None or x.facts is None:
        return _no_facts(x)
    runs = {r["stage"]: r["version"] for r in m["catalog"]["stage_runs"]}
    missing = [s for s in _CURATION_STAGES if s not in runs]
    funnel = " -> ".join(f"{s['step']} {_n(s['remaining'])}" for s in m["counts"]["funnel"])
    have = ", ".join(f"{s} (version {runs[s]})" for s in _CURATION_STAGES if s in runs)
    gens = x.facts.get("generation", [])
    gen = ("; generation journaled (gen_requests: " + ", ".join(f"{g['source']} {g['kind']}" for g in gens) + ")"
           if gens else "")
    if missing:
        return DERIVED, False, (f"workflow incomplete: the {', '.join(missing)} stage(s) never ran (stage_runs)"
                                + (f"; ran: {have}" if have else ""))
    return DERIVED, True, (f"every curation stage ran and is recorded in manifest.json (stage_runs): {have}{gen}; "
                           f"then the recipe's funnel: {funnel}")


def _item_training_pipeline(x: _Inputs):
    if x.kind == "build":
        return DERIVED, False, "a build records no training: score the experiment that trains on it"
    if not x.runs:
        return DERIVED, False, "no training run recorded"
    bad, desc = [], []
    for r in x.runs:
        stages = r["run"].get("stages") or []
        if not stages or any(s.get("rows") is None or s.get("steps") is None or not s.get("start_from") for s in stages):
            bad.append(r["label"])
            continue
        steps = []
        for s in stages:
            start = ("the base model" if s["start_from"] == r["run"].get("base_model")
                     else f"stage {s['stage'] - 1}'s weights" if s["stage"] > 1 else s["start_from"])
            data = s.get("build_variant") or s.get("build_name") or "the build"
            steps.append(f"stage {s['stage']} on {data} ({_n(s['rows'])} rows, {_n(s['steps'])} steps) from {start}")
        desc.append(f"{r['label']}: " + ", then ".join(steps))
    if bad or x.missing_runs:
        return DERIVED, False, "no stage record (run.json / train_runs) for: " + _list(bad + x.missing_runs)
    where = "/".join(sorted({r["source"] for r in x.runs}))
    return DERIVED, True, f"{len(x.runs)} run(s) ({where}): " + "; ".join(desc[:4]) + (
        f"; and {len(desc) - 4} more" if len(desc) > 4 else "")


def _seconds(x: _Inputs) -> str:
    secs = [(r["label"], s.get("seconds")) for r in x.runs for s in r["run"].get("stages") or [] if s.get("seconds")]
    if not secs:
        return ""
    total = sum(s for _, s in secs)
    return f"training took {total:,.1f} s over {len(secs)} stage(s) (run.json)"


def _item_compute(x: _Inputs):
    d = _dec(x, "compute")
    secs = _seconds(x)
    if isinstance(d, str):
        return DECLARED, True, f"declared: {d}" + (f"; {secs}" if secs else "")
    return DECLARED, False, ((secs + ", but " if secs else "") + "the hardware and infrastructure are not recorded: "
                             "declare transparency.compute" + (" (declared false)" if d is False else ""))


_HP_KEYS = ("learning_rate", "num_train_epochs", "max_steps", "per_device_train_batch_size",
            "gradient_accumulation_steps", "max_length", "packing", "use_lora", "stages")


def _item_hyperparameters(x: _Inputs):
    if x.kind == "build":
        return DERIVED, False, "a build records no training: score the experiment that trains on it"
    if not x.runs:
        return DERIVED, False, "no training run recorded"
    bad = [r["label"] for r in x.runs if not isinstance(r["run"].get("settings"), dict)]
    if bad or x.missing_runs:
        return DERIVED, False, "no recorded settings for: " + _list(bad + x.missing_runs)
    s = x.runs[0]["run"]["settings"]
    given = ", ".join(f"{k} {s[k]}" for k in _HP_KEYS if k in s)
    same = all(r["run"]["settings"] == s for r in x.runs)
    return DERIVED, True, (f"run.json settings of {len(x.runs)} run(s)" + (" (identical)" if same else "")
                           + f": {given or 'none given'}; every other key is TRL SFTConfig's default; each stage's "
                           "overrides are in its stage record")


def _evaluated_variants(x: _Inputs) -> list[dict]:
    labels = {e["label"] for e in x.evals}
    return [v for v in x.variants if v.get("name") in labels]


def _item_ablations(x: _Inputs):
    if x.kind == "build":
        return DERIVED, False, ("a build alone trains and evaluates nothing: its ablations show their contribution "
                                "once an experiment trains and evaluates them")
    done = _evaluated_variants(x)
    base = next((e for e in x.evals if e["label"] == "baseline"), None)
    if len(done) < 2:
        return DERIVED, False, (f"{len(done)} variant(s) trained and evaluated; an ablation study compares at least "
                                "two data variants")

    def acc(label):
        e = next(e for e in x.evals if e["label"] == label)
        return ", ".join(f"{b} {100 * m['accuracy']:.1f}%" for b, m in sorted(e["results"].get("benchmarks", {}).items()))

    return DERIVED, True, (f"{len(done)} variants trained and evaluated on one protocol"
                           + (f" beside the baseline ({acc('baseline')})" if base else "") + ": "
                           + "; ".join(f"{v['name']} ({v.get('kind', '?')}, {_n(v.get('rows', '?'))} rows): "
                                       f"{acc(v['name'])}" for v in done[:6]))


# -- evaluation ------------------------------------------------------------------------------------------

def _no_eval(x: _Inputs):
    if x.kind == "build":
        return DERIVED, False, "a build records no evaluation: score the experiment that evaluates it"
    return DERIVED, False, "no evaluation run recorded"


def _benchmark_fingerprint(name: str, cfg: dict) -> str | None:
    """The evaluated benchmark's fingerprint when it is a local file (never fetched from the network)."""
    d = cfg.get("benchmarks_dir")
    if not d or not (Path(d) / f"{name}.jsonl").is_file():
        return None
    from distillate.curate.decontam.registry import fingerprint, load_file

    try:
        return fingerprint(load_file(Path(d) / f"{name}.jsonl", name))
    except DistillateError:
        return None


def _item_benchmarks(x: _Inputs):
    if not x.evals:
        return _no_eval(x)
    benches = sorted({b for e in x.evals for b in e["results"].get("benchmarks", {})})
    cfg = x.evals[0]["results"].get("config", {})
    trained = [v for v in x.variants if v.get("facts") is not None] or (
        [{"name": x.name, "facts": x.facts}] if x.facts else [])
    if not trained:
        return DERIVED, False, "the training data's decontamination is not recorded (no build facts)"
    why, fine = [], []
    for b in benches:
        fp = _benchmark_fingerprint(b, cfg)
        for v in trained:
            scan = next((d for d in v["facts"]["decontamination"] if d["benchmark"] == b), None)
            if scan is None:
                why.append(f"{b} was not in the decontamination scan of {v['name']}'s training data")
            elif fp is not None and scan["fingerprint"] != fp:
                why.append(f"{b} changed since {v['name']}'s scan (fingerprint {scan['fingerprint'][:12]} scanned, "
                           f"{fp[:12]} evaluated)")
            elif v["facts"]["contaminated_kept"].get(b):
                why.append(f"{v['name']} trained on {_n(v['facts']['contaminated_kept'][b])} rows matching {b}")
        scan = next((d for d in trained[0]["facts"]["decontamination"] if d["benchmark"] == b), None)
        if scan:
            fine.append(f"{b} ({_n(scan['items'])} items, fingerprint {scan['fingerprint'][:12]}"
                        + (", compared with the evaluated file" if fp else ", matched by name") + ")")
    if why:
        return DERIVED, False, "; ".join(why)
    return DERIVED, True, (f"evaluated on {', '.join(benches)}, each held out: scanned against the training data of "
                           f"every trained variant ({len(trained)}) with 0 kept rows matching: " + "; ".join(fine))


def _item_evaluation_level(x: _Inputs):
    if not x.evals:
        return _no_eval(x)
    bad = [e["label"] for e in x.evals if not e["samples"]]
    if bad or x.missing_evals:
        return DERIVED, False, "no per-sample verdicts recorded for: " + _list(bad + x.missing_evals)
    versions = sorted({str(e["results"].get("version")) for e in x.evals})
    return DERIVED, True, (f"answer-level: each sample's final answer (the last \\boxed{{}} after the thought) is "
                           f"checked against the reference answer by distillate.curate.verify, with the verdict of "
                           f"every sample recorded (samples.jsonl / eval_samples) in {len(x.evals)} run(s) "
                           f"({', '.join(versions)})")


def _item_metrics(x: _Inputs):
    if not x.evals:
        return _no_eval(x)
    bad = []
    ks: set[str] = set()
    ns: set[int] = set()
    for e in x.evals:
        for b, m in e["results"].get("benchmarks", {}).items():
            if not all(k in m for k in ("accuracy", "pass@k", "maj@k", "n_samples_per_problem", "tokens")):
                bad.append(f"{e['label']}/{b}")
            else:
                ks |= set(m["pass@k"])
                ns.add(m["n_samples_per_problem"])
        if not e["results"].get("benchmarks"):
            bad.append(e["label"])
    if bad or x.missing_evals:
        return DERIVED, False, "metrics missing for: " + _list(bad + x.missing_evals)
    k = ",".join(sorted(ks, key=int))
    return DERIVED, True, (f"results.json of {len(x.evals)} run(s): accuracy (mean over problems of the share of "
                           f"correct samples, n={_list(sorted(ns))}), pass@k (unbiased estimator 1-C(n-c,k)/C(n,k), "
                           f"k={k}), maj@k (majority vote over extracted answers, k={k}), output-token quantiles; "
                           "defined in docs/train_eval.md")


def _custom(e: dict) -> list[tuple[str, bool, str]]:
    """(metric, recorded with its definition, what defines it) of one eval run."""
    res, cfg = e["results"], e["results"].get("config", {})
    out = []
    if cfg.get("budgets"):
        ok = all(all(str(b) in m.get("budgets", {}) for b in cfg["budgets"]) for m in res.get("benchmarks", {}).values())
        out.append(("budget accuracy", ok, f"each sample cut at {','.join(map(str, cfg['budgets']))} output tokens "
                                           "and re-scored"))
    if cfg.get("budget_forcing"):
        out.append(("budget forcing", "force_tokens" in cfg,
                    f"s1-style end-of-thinking cue and {cfg.get('force_tokens')} greedy tokens at each cut"))
    if cfg.get("sycophancy"):
        ok = bool(res.get("sycophancy")) and bool(cfg.get("sycophancy_prompt"))
        out.append(("sycophancy flip rate", ok, f"correct first answers pushed back with \"{cfg.get('sycophancy_prompt')}\" "
                                                "(X: another item's answer, seeded), share no longer correct"))
    if cfg.get("judge_suites"):
        js = res.get("judge_suites") or {}
        ok = bool(js) and all(s.get("judge_model") and s.get("rubric_sha256") for s in js.values())
        out.append(("judge scores", ok, f"{len(js)} suite(s) scored 1-10 by {cfg.get('judge_model')} with recorded "
                                        "rubrics and rationales"))
    return out


def _item_custom_metrics(x: _Inputs):
    if not x.evals:
        return _no_eval(x)
    found: dict[str, tuple[bool, str]] = {}
    for e in x.evals:
        for name, ok, how in _custom(e):
            prev = found.get(name)
            found[name] = (ok and (prev is None or prev[0]), how)
    if not found:
        return NOT_APPLICABLE, True, "no custom metric: only accuracy, pass@k, maj@k and output tokens"
    bad = [n for n, (ok, _) in found.items() if not ok]
    txt = "; ".join(f"{n}: {how}" for n, (_, how) in found.items())
    if bad:
        return DERIVED, False, f"recorded without their definition in results.json: {', '.join(bad)}; {txt}"
    return DERIVED, True, f"custom metrics recorded with their definitions (results.json config): {txt}"


def _protocol(e: dict) -> dict:
    cfg = dict(e["results"].get("config", {}))
    for k in _NOT_PROTOCOL:
        cfg.pop(k, None)
    for k in ("prompt_template", "system_prompt", "sycophancy_prompt"):
        if cfg.get(k) is not None:
            cfg[k] = "sha256:" + hashlib.sha256(str(cfg[k]).encode()).hexdigest()[:12]
    if isinstance(cfg.get("judge_suites"), list):
        cfg["judge_suites"] = [Path(p).name for p in cfg["judge_suites"]]
    return cfg


def _fmt_protocol(p: dict) -> str:
    keys = ("benchmarks", "n", "max_tokens", "temperature", "top_p", "seed", "budgets", "limit", "prompt_template")
    return ", ".join(f"{k} {','.join(map(str, p[k])) if isinstance(p[k], list) else p[k]}" for k in keys
                     if p.get(k) not in (None, []))


def _item_consistency(x: _Inputs):
    if not x.evals:
        return _no_eval(x)
    base = next((e for e in x.evals if e["label"] == "baseline"), None)
    if base is None:
        return DERIVED, False, "no baseline evaluation (the base model before fine-tuning) is recorded"
    others = [e for e in x.evals if e is not base]
    if not others:
        return DERIVED, False, "only the baseline was evaluated"
    ref = _protocol(base)
    diffs = []
    for e in others:
        p = _protocol(e)
        keys = sorted(k for k in set(ref) | set(p) if ref.get(k) != p.get(k))
        if keys:
            diffs.append(f"{e['label']} differs from the baseline in " + ", ".join(
                f"{k} ({ref.get(k)} vs {p.get(k)})" for k in keys[:4]))
    if diffs or x.missing_evals:
        return DERIVED, False, "; ".join(diffs + ([f"not evaluated: {_list(x.missing_evals)}"] if x.missing_evals else []))
    return DERIVED, True, (f"the baseline and {len(others)} variant(s) share one protocol (results.json config): "
                           + _fmt_protocol(ref))


def _item_conditions(x: _Inputs):
    if not x.evals:
        return _no_eval(x)
    need = ("temperature", "top_p", "n", "max_tokens", "seed", "prompt_template")
    bad = [e["label"] for e in x.evals if any(e["results"].get("config", {}).get(k) is None for k in need)]
    if bad or x.missing_evals:
        return DERIVED, False, "sampling conditions not recorded for: " + _list(bad + x.missing_evals)
    conds = {}
    for e in x.evals:
        c = e["results"]["config"]
        conds.setdefault(f"temperature {c['temperature']}, top_p {c['top_p']}, n {c['n']}, max_tokens "
                         f"{c['max_tokens']}, seed {c['seed']}", []).append(e["label"])
    return DERIVED, True, "results.json config of every compared run: " + "; ".join(
        f"{_list(labels)}: {c}" for c, labels in conds.items())


# -- open source -----------------------------------------------------------------------------------------

def _artefact(x: _Inputs, key: str) -> str:
    m = x.manifest or {}
    kept = (m.get("counts") or {}).get("kept")
    name = m.get("name", "?") + (f"/{m['variant']}" if m.get("variant") else "")
    if key == "post_training_data":
        return f"the set: {_n(kept)} rows in sft.jsonl of build {name}" if m else ""
    if key == "long_thought_data":
        f = x.facts or {}
        return f"{_n(f.get('kept', 0))} kept long-thought traces ({_n(f.get('generated_kept', 0))} generated here)" if f else ""
    if key == "weights":
        return (f"trained weights of {len(x.runs)} run(s) (run.json final_model)" if x.runs
                else "this run trains no weights" if x.kind == "build" else "")
    if key == "training_code":
        return (f"trained with distillate train ({_list(sorted({str(r['run'].get('version')) for r in x.runs}))}) on "
                "TRL" if x.runs else "")
    if key == "evaluation_code":
        return (f"evaluated with distillate eval ({_list(sorted({str(e['results'].get('version')) for e in x.evals}))})"
                if x.evals else "")
    return ""


def _declared_item(key: str):
    def item(x: _Inputs):
        d = _dec(x, key)
        art = _artefact(x, key)
        if isinstance(d, str):
            return DECLARED, True, f"declared: {d}" + (f"; {art}" if art else "")
        if d is False:
            return DECLARED, False, "declared false: not published" + (f"; {art}" if art else "")
        return DECLARED, False, (f"not declared (transparency.{key}: {DECLARABLE[key]}); publication cannot be "
                                 "derived from the records" + (f"; {art}" if art else ""))
    return item


_ITEMS = {
    "sources": _item_sources, "distributions": _item_distributions, "selection": _item_selection,
    "synthetic_data": _item_synthetic, "base_model": _item_base_model, "search": _item_search, "rl": _item_rl,
    "curation": _item_curation, "training_pipeline": _item_training_pipeline, "compute": _item_compute,
    "hyperparameters": _item_hyperparameters, "ablations": _item_ablations, "benchmarks": _item_benchmarks,
    "evaluation_level": _item_evaluation_level, "metrics": _item_metrics, "custom_metrics": _item_custom_metrics,
    "consistency": _item_consistency, "conditions": _item_conditions,
    **{k: _declared_item(k) for k in ("post_training_data", "long_thought_data", "weights", "training_code",
                                      "evaluation_code", "usage_guide", "paper")},
}


def _score(x: _Inputs) -> dict:
    items = []
    for q in CHECKLIST:
        status, met, evidence = _ITEMS[q.key](x)
        items.append({"key": q.key, "dimension": q.dimension, "question": q.question, "points": q.points,
                      "earned": q.points if met else 0, "status": status, "evidence": evidence})
    dims = {d: {"score": sum(i["earned"] for i in items if i["dimension"] == d), "maximum": mx}
            for d, mx in DIMENSIONS.items()}
    total = sum(d["score"] for d in dims.values())
    na = [i for i in items if i["status"] == NOT_APPLICABLE]
    me = {"work": f"{x.name} (this {x.kind})", **{d: v["score"] for d, v in dims.items()}, "total": total,
          "this_run": True}
    board = sorted([dict(r, this_run=False) for r in LEADERBOARD] + [me], key=lambda r: -r["total"])
    return {
        "index": "Technical Transparency Index",
        "reference": CITATION,
        "kind": x.kind,
        "name": x.name,
        "total": total,
        "maximum": sum(DIMENSIONS.values()),
        "dimensions": dims,
        "not_applicable": {"items": len(na), "points": sum(i["points"] for i in na), "counted_as": "met",
                           "rule": NA_RULE},
        "items": items,
        "leaderboard": board,
        "rank": 1 + sum(r["total"] > total for r in LEADERBOARD),
    }


# -- entry points --------------------------------------------------------------------------------------

def _read_json(p: Path, what: str) -> dict:
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except OSError as e:
        raise DistillateError(f"cannot read {what} {p}: {e.strerror}") from e
    except json.JSONDecodeError as e:
        raise DistillateError(f"{p} is not valid JSON: {e}") from e


def score_manifest(manifest: dict) -> dict:
    """The index of one build variant from its manifest (with the `transparency` facts of build_facts)."""
    facts = manifest.get("transparency")
    name = manifest.get("name", "?") + (f"/{manifest['variant']}" if manifest.get("variant") else "")
    return _score(_Inputs("build", name, manifest, declared=(facts or {}).get("declared", {})))


def score_build(path: str | Path) -> dict:
    d = Path(path)
    man = d / "manifest.json" if d.is_dir() else d
    manifest = _read_json(man, "build manifest")
    if "transparency" not in manifest:
        raise DistillateError(f"{man} holds no transparency facts (built before distillate recorded them): "
                              "rebuild it with `distillate build`")
    return score_manifest(manifest)


class _Resolver:
    """Folders named in experiment.json: absolute, else relative to the experiment folder, the workspace
    or the current directory (the first that exists)."""

    def __init__(self, exp_dir: Path, workspace: Path | None):
        self.roots = [exp_dir] + ([workspace] if workspace else []) + [Path.cwd()]

    def __call__(self, p: str | None) -> Path | None:
        if not p:
            return None
        q = Path(p)
        if q.is_absolute():
            return q
        return next((r / q for r in self.roots if (r / q).exists()), self.roots[0] / q)


def _catalog(workspace: Path | None):
    if workspace is None:
        return None
    from distillate.curate import Workspace

    ws = Workspace(workspace)
    return ws if ws.current_snapshot() is not None else None


def _train_record(label: str, v: dict, resolve, ws) -> dict | None:
    d = resolve(v.get("train_dir"))
    if d is not None and (d / "run.json").is_file():
        run = _read_json(d / "run.json", "train run")
        return {"label": label, "run": run, "source": "run.json", "final": run.get("final_model")}
    if ws is not None and v.get("train_run_id"):
        with ws.reader() as cat:
            rows = cat.query("experiment/tti_train_run", {"run": v["train_run_id"]})
        if rows:
            r = rows[0]
            run = {"version": "train-1", "base_model": r["base_model"], "final_model": r["final_model"],
                   "stages": json.loads(r["stages"]), "settings": json.loads(r["settings"])}
            return {"label": label, "run": run, "source": "train_runs", "final": r["final_model"]}
    return None


def _eval_record(label: str, v: dict, resolve, ws) -> dict | None:
    d = resolve(v.get("eval_dir"))
    if d is not None and (d / "results.json").is_file():
        return {"label": label, "results": _read_json(d / "results.json", "eval results"),
                "samples": (d / "samples.jsonl").is_file(), "source": "results.json"}
    if ws is not None and v.get("eval_run_id"):
        with ws.reader() as cat:
            rows = cat.query("experiment/tti_eval_run", {"run": v["eval_run_id"]})
        if rows:
            r = rows[0]
            return {"label": label, "results": {"run_id": r["run_id"], "model": r["model"],
                                                "config": json.loads(r["config"]),
                                                "benchmarks": json.loads(r["results"])},
                    "samples": r["samples"] > 0, "source": "eval_runs"}
    return None


def score_experiment(path: str | Path, workspace: str | Path | None = None) -> dict:
    """The index of an experiment folder (experiment.json, written by `distillate experiment`): the data items
    from its build's recorded facts, training from run.json (or train_runs), evaluation from results.json (or
    eval_runs), declarations from the experiment's `transparency:` section over the recipe's."""
    d = Path(path)
    d = d.parent if d.name == "experiment.json" else d
    exp = _read_json(d / "experiment.json", "experiment")
    wsroot = Path(workspace) if workspace else (Path(exp["workspace"]) if exp.get("workspace") else None)
    resolve = _Resolver(d, wsroot)
    ws = _catalog(wsroot)
    build = exp.get("build") or {}
    bdir = resolve(build.get("dir"))
    manifest = (_read_json(bdir / "manifest.json", "build manifest")
                if bdir is not None and (bdir / "manifest.json").is_file() else None)
    facts = (manifest or {}).get("transparency")
    declared = {**(facts or {}).get("declared", {}),
                **parse_declared(exp.get("transparency") or None, f"{d / 'experiment.json'}")}
    x = _Inputs("experiment", exp.get("name") or d.name, manifest, declared=declared, base_model=exp.get("base_model"))
    if exp.get("baseline"):
        e = _eval_record("baseline", exp["baseline"], resolve, ws)
        (x.evals.append(e) if e else x.missing_evals.append("baseline"))
    for v in exp.get("variants") or []:
        name = v.get("name", "?")
        vdir = resolve(v.get("build_dir"))
        vman = (_read_json(vdir / "manifest.json", "build manifest")
                if vdir is not None and (vdir / "manifest.json").is_file() else None)
        x.variants.append({**v, "facts": (vman or {}).get("transparency") or facts})
        r = _train_record(name, v, resolve, ws)
        if r:
            x.runs.append(r)
            first = (r["run"].get("stages") or [{}])[0].get("final")
            for p in (first, r.get("final")):
                if p and resolve(p) is not None:
                    x.model_dirs.append(resolve(p))
        else:
            x.missing_runs.append(name)
        e = _eval_record(name, v, resolve, ws)
        (x.evals.append(e) if e else x.missing_evals.append(name))
    return _score(x)


def score(path: str | Path, workspace: str | Path | None = None) -> dict:
    """A build folder (manifest.json) or an experiment folder (experiment.json)."""
    p = Path(path)
    if (p / "experiment.json").is_file() or p.name == "experiment.json":
        return score_experiment(p, workspace)
    if (p / "manifest.json").is_file() or p.name == "manifest.json":
        return score_build(p)
    raise DistillateError(f"{p} is neither a build (manifest.json) nor an experiment (experiment.json)")


# -- rendering -------------------------------------------------------------------------------------------

_DIM_LABEL = {"data": "data", "methodology": "methodology", "evaluation": "evaluation", "open_source": "open source"}


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def summary_line(index: dict) -> str:
    dims = ", ".join(f"{_DIM_LABEL[d]} {v['score']}/{v['maximum']}" for d, v in index["dimensions"].items())
    na = index["not_applicable"]
    line = f"**Total: {index['total']} / {index['maximum']}** ({dims})."
    if na["items"]:
        line += (f" Not applicable: {na['items']} item(s), {na['points']} points, counted as met ({na['rule']}).")
    else:
        line += " Every item applies (none counted as met without a record)."
    above = [r for r in LEADERBOARD if r["total"] > index["total"]]
    line += (f" On the paper's leaderboard this {index['kind']} would rank {_ordinal(index['rank'])} of "
             f"{len(LEADERBOARD) + 1}" + (f", below {min(above, key=lambda r: r['total'])['work']} "
                                         f"({min(r['total'] for r in above)})" if above else ", first") + ".")
    return line


def render_markdown(index: dict) -> list[str]:
    """The DATACARD.md section: items, dimension scores, total and the N/A rule (deterministic)."""

    def cell(v) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    md = ["## Technical Transparency Index", "",
          f"The checklist of the Technical Transparency Index ({REFERENCE}), scored from what this {index['kind']} recorded. "
          "*derived*: from the catalog and files (evidence says which); *declared*: stated in the recipe's "
          "`transparency:` section; *not applicable*: the run has no such part."
          + (" A build alone has no training or evaluation: those items score in an experiment "
             "(`distillate tti EXPERIMENT`)." if index["kind"] == "build" else ""), "",
          summary_line(index), "",
          "| dimension | question | points | earned | status | evidence |", "|---|---|---|---|---|---|"]
    md += [f"| {_DIM_LABEL[i['dimension']]} | {cell(i['question'])} | {i['points']} | {i['earned']} | {i['status']} | "
           f"{cell(i['evidence'])} |" for i in index["items"]]
    missed = [f"{i['key']} ({i['points']})" for i in index["items"] if not i["earned"]]
    md += ["", "**Not earned**: " + ("; ".join(missed) if missed else "nothing") + "."]
    return md


def print_index(index: dict, console) -> None:
    """Rich tables for `distillate tti`: the items, the dimensions and the paper's leaderboard."""
    from rich.table import Table

    t = Table(title=f"Technical Transparency Index: {index['name']} ({index['kind']})", show_lines=True)
    for c, kw in (("dimension", {}), ("question", {"ratio": 3}), ("pts", {"justify": "right"}),
                  ("earned", {"justify": "right"}), ("status", {}), ("evidence", {"ratio": 4})):
        t.add_column(c, **kw)
    style = {DERIVED: "", DECLARED: "cyan", NOT_APPLICABLE: "dim"}
    for i in index["items"]:
        t.add_row(_DIM_LABEL[i["dimension"]], i["question"], str(i["points"]),
                  f"[{'green' if i['earned'] else 'red'}]{i['earned']}[/]", f"[{style[i['status']]}]{i['status']}[/]"
                  if style[i["status"]] else i["status"], i["evidence"])
    console.print(t)
    lb = Table(title="The paper's leaderboard, with this run")
    for c in ("rank", "work", "data", "methodology", "evaluation", "open source", "total"):
        lb.add_column(c, justify="left" if c == "work" else "right")
    for r in index["leaderboard"]:
        k = 1 + sum(o["total"] > r["total"] for o in index["leaderboard"])
        row = [str(k), r["work"], *(str(r[d]) for d in DIMENSIONS), str(r["total"])]
        lb.add_row(*([f"[bold yellow]{c}[/]" for c in row] if r["this_run"] else row))
    console.print(lb)
    from rich.markup import escape

    console.print(escape(summary_line(index).replace("**", "")))
