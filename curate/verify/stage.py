"""The `verify` curation stage, the optional LLM judge, `distillate check-answers` and the report section."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import orjson

from distillate.errors import DistillateError
from distillate.log import log, progress

from . import core
from .conventions import Conventions
from .core import UNDECIDED, VERDICTS, VERSION, Verdict, verify_batch


@dataclass
class VerifyConfig:
    """Options of the verify stage (`distillate curate --stages verify ...`)."""

    timeout: float = core.DEFAULT_TIMEOUT   # wall-clock seconds per math-verify check (worker killed after)
    memory_mb: int = 2048                   # address-space cap of each worker process
    workers: int | None = None              # worker processes (default: one per core)
    batch_size: int = 2000                  # traces read, verified and written per batch
    judge_endpoint: str | None = None       # OpenAI-compatible base URL; None = no LLM judge
    judge_model: str | None = None          # model name at that endpoint
    judge_api_key_env: str = "OPENAI_API_KEY"  # environment variable holding the key ("EMPTY" if unset)
    judge_timeout: float = 60.0             # seconds per judge request

    @classmethod
    def from_ctx(cls, ctx) -> "VerifyConfig":
        cfg = cls(timeout=float(ctx.opt("verify_timeout", core.DEFAULT_TIMEOUT)),
                  memory_mb=int(ctx.opt("verify_memory_mb", 2048)),
                  workers=ctx.opt("verify_workers"), batch_size=int(ctx.opt("verify_batch_size", 2000)),
                  judge_endpoint=ctx.opt("judge_endpoint"), judge_model=ctx.opt("judge_model"),
                  judge_api_key_env=ctx.opt("judge_api_key_env") or "OPENAI_API_KEY")
        if bool(cfg.judge_endpoint) != bool(cfg.judge_model):
            raise DistillateError("the LLM judge needs both --judge-endpoint and --judge-model")
        if cfg.timeout <= 0:
            raise DistillateError(f"verify timeout must be positive, not {cfg.timeout}")
        return cfg


# ---- LLM judge ---------------------------------------------------------------------------------------

JUDGE_PROMPT = """You grade the final answer of a math solution against the reference answer.
Problem:
{problem}

Reference answer: {gold}
Candidate final answer: {pred}

Are the two answers mathematically equivalent (same value or set of values; formatting, units and
equivalent forms do not matter)? Reply with exactly one word: EQUIVALENT or DIFFERENT."""


class Judge:
    """Asks an OpenAI-compatible endpoint about undecided pairs; its verdicts are marked judged_by_llm."""

    def __init__(self, cfg: VerifyConfig):
        from distillate.endpoint import EndpointConfig

        self.model = cfg.judge_model
        self.endpoint = EndpointConfig(model=cfg.judge_model, endpoint=cfg.judge_endpoint,
                                       api_key_env=cfg.judge_api_key_env, timeout=cfg.judge_timeout, max_retries=2)
        self.client = self.endpoint.client()

    def __call__(self, problem: str | None, gold: str, v: Verdict) -> Verdict:
        from distillate.redact import redact

        pred = v.extracted
        v.details["pre_judge_verdict"] = v.verdict
        try:
            r = self.client.chat.completions.create(**self.endpoint.chat_kwargs(
                [{"role": "user", "content": JUDGE_PROMPT.format(
                    problem=(problem or "(not given)")[:6000], gold=gold[:2000], pred=(pred or "")[:2000])}],
                max_tokens=self.endpoint.reply_tokens(8), temperature=0.0))
            text = (r.choices[0].message.content or "").strip()
        except Exception as e:  # noqa: BLE001 - a failed request keeps the undecided verdict, recorded
            v.details["judge_error"] = redact(f"{type(e).__name__}: {e}")[:500]
            return v
        v.details["judge_reply"] = text[:200]
        word = text.upper().split()[0].strip(".,:*") if text else ""
        if word in ("EQUIVALENT", "DIFFERENT"):
            v.verdict = "correct" if word == "EQUIVALENT" else "incorrect"
            v.method = f"llm_judge:{self.model}"
            v.details["judged_by_llm"] = True
        else:
            v.details["judge_error"] = "reply was neither EQUIVALENT nor DIFFERENT"
        return v


# ---- the stage ---------------------------------------------------------------------------------------

def _load_cache(cat) -> int:
    n = 0
    for gold, pred, result in cat.sql("verify/cache_load", {"version": VERSION}).fetchall():
        core._CACHE[(VERSION, gold, pred)] = orjson.loads(result)
        n += 1
    core.drain_new()
    return n


def _save_cache(cat, new: list[tuple[str, str, dict]]) -> int:
    import pyarrow as pa

    new = list({(g, p): (g, p, r) for g, p, r in new}.values())  # one row per key: a single upsert
    if not new:
        return 0
    tbl = pa.table({
        "verifier_version": [VERSION] * len(new), "gold": [g for g, _, _ in new], "pred": [p for _, p, _ in new],
        "verdict": [r["verdict"] for _, _, r in new], "method": [r.get("method") for _, _, r in new],
        "result": [orjson.dumps(r).decode() for _, _, r in new]})
    cat.con.register("new_cache", tbl)
    try:
        cat.run("verify/cache_save")
    finally:
        cat.con.unregister("new_cache")
    return len(new)


def _write(cat, rows: list[dict]) -> None:
    import pyarrow as pa

    tbl = pa.Table.from_pylist(rows, schema=pa.schema([
        ("trace_id", pa.string()), ("verifier_version", pa.string()), ("verdict", pa.string()),
        ("extracted", pa.string()), ("method", pa.string()), ("judged_by_llm", pa.bool_()),
        ("seconds", pa.float64()), ("details", pa.string()), ("thought_answer", pa.string()),
        ("gold_normalized", pa.string()), ("pred_normalized", pa.string()),
        ("reference_answer", pa.string()), ("judge_requested", pa.bool_())]))
    cat.con.register("new_verdicts", tbl)
    try:
        cat.run("verify/write")
    finally:
        cat.con.unregister("new_verdicts")


def _verify_chunk(batch: list[tuple], cfg: VerifyConfig) -> tuple[list[Verdict], list[tuple[str, str, dict]]]:
    """Verdicts of one batch, plus the cache entries it computed: on Ray they live in the worker's
    memory, so they travel back with the verdicts for the driver to persist (as the local engine does)."""
    verdicts = verify_batch([(g, th, so) for _, g, th, so, _ in batch], parts=True, workers=cfg.workers,
                            timeout=cfg.timeout, memory_mb=cfg.memory_mb)
    return verdicts, core.drain_new()


def run_stage(ctx) -> dict[str, Any]:
    """Verify every trace whose verdict is missing or outdated against its problem's reference answer."""
    from distillate.curate.executor import default_workers, map_batches
    from distillate.curate.shards import ShardedRun

    cfg = VerifyConfig.from_ctx(ctx)
    cat = ctx.cat
    judge = Judge(cfg) if cfg.judge_endpoint else None
    todo = cat.sql("verify/todo", {"version": VERSION, "judge": judge is not None}).fetchall()
    counters: dict[str, Any] = {"checked": 0, **{v: 0 for v in VERDICTS}, "judged_by_llm": 0,
                                "cache_loaded": _load_cache(cat) if todo else 0, "cache_saved": 0}
    if not todo:
        return {"checked": 0, "up_to_date": True}
    # shard by shard, with a completion marker per shard: a killed run resumes (curate/shards.py)
    shards = ShardedRun(ctx, "verify", f"{VERSION}:judge={judge is not None}")
    batches = shards.batches({r[0]: r[2] for r in todo}, cfg.batch_size)
    engine = ctx.opt("engine", "local")

    fetched: deque[list[tuple]] = deque()

    def texts():
        for b in batches:
            rows = cat.sql("verify/texts", b).fetchall()
            fetched.append(rows)
            yield rows

    # Answer extraction (scans of 20 KB thoughts) costs more than the math-verify checks, so batches run
    # in parallel: locally one process per core, each checking with one hard-limit worker (forked after
    # _load_cache, so each starts with the cache); on Ray one task per batch with a pool on its node. A
    # single batch runs here, with a pool of every core.
    procs = 1 if engine != "local" or len(todo) <= cfg.batch_size else (cfg.workers or default_workers())
    with progress(disable=not ctx.show_progress) as bar:
        task = bar.add_task("verify", total=len(todo), info="")
        for verdicts, new_cache in map_batches(_verify_chunk, texts(), replace(cfg, workers=1) if procs > 1 else cfg,
                                               engine=engine, ray_address=ctx.opt("ray_address"),
                                               workers=procs if engine == "local" else None):
            rows = fetched.popleft()
            counters["cache_saved"] += _save_cache(cat, new_cache)  # per batch: survives a kill
            out = []
            for (tid, gold, _th, _so, problem), v in zip(rows, verdicts):
                asked = False
                if judge is not None and v.verdict in UNDECIDED and gold:
                    v = judge(problem, core.gold_answer(gold), v)
                    asked = True
                judged = bool(v.details.pop("judged_by_llm", False))
                counters["judged_by_llm"] += judged
                counters[v.verdict] += 1
                out.append({"trace_id": tid, "verifier_version": VERSION, "verdict": v.verdict,
                            "extracted": v.extracted, "method": v.method, "judged_by_llm": judged,
                            "seconds": round(v.seconds, 6), "details": orjson.dumps(v.details).decode(),
                            "thought_answer": v.thought_answer, "gold_normalized": v.gold_normalized,
                            "pred_normalized": v.pred_normalized, "reference_answer": gold,
                            "judge_requested": asked})
            _write(cat, out)
            shards.written()
            counters["checked"] += len(out)
            bar.update(task, advance=len(out), info=f"{counters['correct']:,} correct")
    counters.update(shards.counters())
    if counters["timeout"] or counters["error"]:
        log.warning("verify: %d timeout(s), %d error(s); see `distillate report` (verify section)",
                    counters["timeout"], counters["error"])
    return {k: v for k, v in counters.items() if v or k in ("checked", "correct", "incorrect")}


# ---- report -------------------------------------------------------------------------------------------

def report_section(cat) -> dict[str, Any]:
    """`report --json` key `verify`: counts per verdict, per source, deciding methods, label agreement."""
    by_source: dict[str, dict[str, int]] = {}
    totals: dict[str, int] = {}
    judged = 0
    for r in cat.query("verify/report"):
        key = r["verdict"] or "unverified"
        by_source.setdefault(r["source"], {})[key] = r["n"]
        totals[key] = totals.get(key, 0) + r["n"]
        judged += r["judged"]
    methods: dict[str, int] = {}
    versions: dict[str, int] = {}
    for r in cat.query("verify/report_methods"):
        methods[r["method"] or "none"] = methods.get(r["method"] or "none", 0) + r["n"]
        versions[r["verifier_version"]] = versions.get(r["verifier_version"], 0) + r["n"]
    labels = {"label_correct_verdict_correct": 0, "label_correct_verdict_incorrect": 0,
              "label_incorrect_verdict_correct": 0, "label_incorrect_verdict_incorrect": 0}
    for r in cat.query("verify/report_labels"):
        labels[f"label_{'correct' if r['label_correct'] else 'incorrect'}_verdict_{r['verdict']}"] = r["n"]
    decided = totals.get("correct", 0) + totals.get("incorrect", 0)
    return {"verifier_version": VERSION, "verdicts": totals, "by_source": by_source, "methods": methods,
            "versions": versions, "judged_by_llm": judged,
            "accuracy": round(totals.get("correct", 0) / decided, 4) if decided else None,
            "source_labels": labels}


def render_section(console, data: dict[str, Any]) -> None:
    from rich.table import Table

    cols = [v for v in (*VERDICTS, "unverified") if data["verdicts"].get(v)]
    t = Table(title=f"Answer verification (verifier {data['verifier_version']})")
    t.add_column("source")
    for c in cols:
        t.add_column(c, justify="right")
    for src, counts in data["by_source"].items():
        t.add_row(src, *[f"{counts.get(c, 0):,}" for c in cols])
    t.add_row("[bold]all[/]", *[f"[bold]{data['verdicts'].get(c, 0):,}[/]" for c in cols])
    console.print(t)
    lab = data["source_labels"]
    dis = lab["label_correct_verdict_incorrect"] + lab["label_incorrect_verdict_correct"]
    if sum(lab.values()):
        console.print(f"source labels vs verdicts: {dis:,} disagreement(s) of {sum(lab.values()):,} "
                      f"(label correct/verdict incorrect {lab['label_correct_verdict_incorrect']:,}, "
                      f"label incorrect/verdict correct {lab['label_incorrect_verdict_correct']:,})")
    if data["judged_by_llm"]:
        console.print(f"{data['judged_by_llm']:,} verdict(s) from the LLM judge")


# ---- check-answers ------------------------------------------------------------------------------------

def _field(row: dict, name: str):
    """A field by name; 'a.b' reaches into nested objects."""
    cur: Any = row
    for part in name.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None, False
        cur = cur[part]
    return cur, True


def _as_text(v) -> str | None:
    if v is None:
        return None
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, (int, float)):
        return repr(v) if isinstance(v, float) else str(v)
    if isinstance(v, list) and v and all(isinstance(x, (str, int, float)) for x in v):
        return ", ".join(str(x) for x in v)  # a list of gold answers: one answer with several values
    return v if isinstance(v, str) else None


def check_answers(path: str | Path, gold_field: str, pred_field: str, out: str | Path | None = None, *,
                  timeout: float = core.DEFAULT_TIMEOUT, workers: int | None = None,
                  show_progress: bool = False, write_stdout=None,
                  conventions: Conventions | None = None) -> dict[str, Any]:
    """Score a JSONL file: every input row is written back (to `out`, else to `write_stdout`) with
    `verdict` and `verify` (extracted, thought_answer, normalized forms, method, seconds, details).
    Unreadable lines are written too, as {"line", "raw", "verdict": "error"}. Returns a summary.
    `conventions`: percent / units / lists options (conventions.py; default: the verifier's defaults)."""
    path = Path(path)
    if not path.is_file():
        raise DistillateError(f"no such file: {path}")
    rows: list[tuple[int, Any, str | None]] = []  # (line number, parsed row or None, raw on error)
    seen_gold = seen_pred = False
    keys: set[str] = set()
    with path.open("rb") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as e:
                rows.append((n, None, f"invalid JSON: {e}"))
                continue
            if not isinstance(obj, dict):
                rows.append((n, None, f"a JSON {type(obj).__name__}, not an object"))
                continue
            keys.update(obj)
            seen_gold |= _field(obj, gold_field)[1]
            seen_pred |= _field(obj, pred_field)[1]
            rows.append((n, obj, None))
    parsed = [r for r in rows if r[1] is not None]
    if not rows:
        raise DistillateError(f"{path} has no rows")
    if parsed and not (seen_gold and seen_pred):
        missing = [f for f, s in ((gold_field, seen_gold), (pred_field, seen_pred)) if not s]
        raise DistillateError(f"field(s) {', '.join(missing)} appear in no row of {path}; "
                              f"fields present: {', '.join(sorted(keys)[:30])}")
    pairs = []
    for _, obj, _ in parsed:
        gold = _as_text(_field(obj, gold_field)[0])
        pred = _as_text(_field(obj, pred_field)[0])
        pairs.append((gold, pred))
    todo = [(i, p) for i, p in enumerate(pairs) if p[1] is not None]
    verdicts: list[Verdict | None] = [None] * len(pairs)
    for (i, _), v in zip(todo, verify_batch([p for _, p in todo], workers=workers, timeout=timeout,
                                            show_progress=show_progress, conventions=conventions)):
        verdicts[i] = v
    counts = {v: 0 for v in VERDICTS}
    overwritten = 0
    sink = open(out, "wb") if out is not None else None
    try:
        it = iter(verdicts)
        for n, obj, err in rows:
            if obj is None:
                rec = {"line": n, "raw_error": err, "verdict": "error",
                       "verify": {"details": {"error": err}}}
                counts["error"] += 1
            else:
                v = next(it)
                if v is None:
                    v = Verdict("no_answer", details={"error": f"field {pred_field!r} missing or not text"})
                if "verdict" in obj or "verify" in obj:
                    overwritten += 1
                rec = dict(obj)
                d = v.to_dict()
                rec["verdict"] = d.pop("verdict")
                rec["verify"] = d
                counts[v.verdict] += 1
            data = orjson.dumps(rec, option=orjson.OPT_APPEND_NEWLINE)
            if sink is not None:
                sink.write(data)
            elif write_stdout is not None:
                write_stdout(data)
    finally:
        if sink is not None:
            sink.close()
    if overwritten:
        log.warning("%d input row(s) already had a 'verdict'/'verify' field: replaced in the output", overwritten)
    decided = counts["correct"] + counts["incorrect"] + counts["no_answer"]
    return {"file": str(path), "rows": len(rows), "verdicts": counts,
            "accuracy": round(counts["correct"] / len(rows), 4),
            "accuracy_decided": round(counts["correct"] / decided, 4) if decided else None,
            "out": str(out) if out is not None else None}
