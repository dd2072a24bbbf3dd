"""`distillate eval`: sample a model on benchmarks, score with the curation verifier, report under budgets.

For every benchmark item the model is sampled n times; each sample is scored by `distillate.curate.verify`
(the same verifier curation uses). Token budgets give the paper's cost/accuracy view: each sample is cut
at B output tokens (with the model's tokenizer) and its answer re-extracted from the cut text; with
`budget_forcing` (s1-style) the cut text gets an end-of-thinking + final-answer cue and a short greedy
continuation before re-extraction. Writes results.json, samples.jsonl and accuracy_vs_tokens.png to the
output folder and records the run in the catalog (eval_runs, eval_results, eval_samples)."""

from __future__ import annotations

import json
import uuid
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from distillate.endpoint import EndpointConfig
from distillate.errors import DistillateError
from distillate.log import log
from distillate.redact import public_url, redact_obj

from .backends import BACKENDS, Generation, SamplingConfig, load_tokenizer, make_backend
from .metrics import benchmark_metrics
from .sycophancy import DEFAULT_PROMPT as SYCOPHANCY_PROMPT

VERSION = "eval-1"
DEFAULT_PROMPT = "{problem}\nPlease reason step by step, and put your final answer within \\boxed{}."
FORCE_THINKING = "\n</think>\n\n**Final Answer**\n\\boxed{"
FORCE_ANSWER = "\n\n**Final Answer**\n\\boxed{"


@dataclass
class EvalConfig(EndpointConfig):
    """An evaluation. `model` is a local path or Hub id (the served model name with the openai backend); the
    endpoint fields (endpoint, api_key_env, timeout, max_retries, reasoning_models, reasoning_effort) are the
    openai backend's (distillate/endpoint.py)."""

    backend: str = "transformers"                     # vllm | openai | transformers
    benchmarks: list[str] = field(default_factory=lambda: ["aime24"])  # registry names (decontam registry)
    benchmarks_dir: str | None = None                 # folder of <name>.jsonl benchmark files
    max_retries: int = 3                              # openai backend: the client's retries per request
    tokenizer: str | None = None                      # for token counts and budgets; default: the model's
    n: int = 1                                        # samples per problem (pass@k / maj@k for k <= n)
    max_tokens: int = 32768                           # generation cap per sample
    temperature: float | None = None                  # default 0 with n == 1, else 0.6
    top_p: float = 0.95
    seed: int = 0
    budgets: list[int] = field(default_factory=list)  # cut each sample at these output-token counts
    budget_forcing: bool = False                      # s1-style: close the thought and ask for the answer
    force_tokens: int = 32                            # greedy tokens generated after the forcing cue
    prompt_template: str = DEFAULT_PROMPT             # user message; {problem} is replaced
    system_prompt: str | None = None
    limit: int | None = None                          # only the first N items of each benchmark
    batch_size: int = 8                               # transformers backend: prompts per generate call
    concurrency: int = 8                              # openai backend: requests in flight (judge calls too)
    # generalization checks (docs/train_eval.md): sycophancy on the benchmarks above, judge suites on JSONL files
    sycophancy: bool = False                          # push back on each correct answer with a wrong one: flip rate
    sycophancy_prompt: str = SYCOPHANCY_PROMPT        # the pushback turn; {answer} is the suggested wrong answer
    judge_suites: list[str] = field(default_factory=list)  # JSONL {id, prompt, reference?, rubric?}, scored by a judge
    judge_model: str | None = None                    # the judge's model name at judge_endpoint
    judge_endpoint: str | None = None                 # OpenAI-compatible base URL of the judge
    judge_api_key_env: str = "OPENAI_API_KEY"         # environment variable holding the judge's key (never stored)
    judge_max_tokens: int = 1024                      # cap of each judge reply


@dataclass
class EvalResult:
    run_id: str
    out_dir: Path
    results: dict


def _verifier():
    """verify_batch of the curation verifier (the same checks as `distillate curate --stages verify`)."""
    try:
        from distillate.curate.verify import verify_batch
    except ImportError as e:
        raise DistillateError(f"the answer verifier (distillate.curate.verify) is not importable: {e}") from e
    return verify_batch


def _messages(cfg: EvalConfig, problem: str) -> list[dict]:
    msgs = [{"role": "system", "content": cfg.system_prompt}] if cfg.system_prompt else []
    msgs.append({"role": "user", "content": cfg.prompt_template.replace("{problem}", problem)})
    return msgs


def _validate(cfg: EvalConfig) -> None:
    if cfg.backend not in BACKENDS:
        raise DistillateError(f"unknown backend {cfg.backend!r}; choose one of {', '.join(BACKENDS)}")
    if cfg.n < 1:
        raise DistillateError(f"--n must be >= 1, got {cfg.n}")
    if cfg.max_tokens < 1:
        raise DistillateError(f"--max-tokens must be >= 1, got {cfg.max_tokens}")
    bad = [b for b in cfg.budgets if b < 1]
    if bad:
        raise DistillateError(f"--budgets must be positive token counts, got {bad}")
    if cfg.budget_forcing and not cfg.budgets:
        raise DistillateError("--budget-forcing needs --budgets")
    if "{problem}" not in cfg.prompt_template:
        raise DistillateError("the prompt template must contain {problem}")
    if cfg.sycophancy and "{answer}" not in cfg.sycophancy_prompt:
        raise DistillateError("the sycophancy prompt must contain {answer} (the suggested wrong answer)")
    if cfg.judge_suites and not (cfg.judge_model and cfg.judge_endpoint):
        raise DistillateError("--judge-suite needs --judge-model and --judge-endpoint (an OpenAI-compatible judge)")
    if (cfg.judge_model or cfg.judge_endpoint) and not cfg.judge_suites:
        raise DistillateError("--judge-model / --judge-endpoint need at least one --judge-suite FILE")
    if cfg.judge_suites:
        from .judge import load_suite

        for p in cfg.judge_suites:
            load_suite(p)  # a bad suite file fails before any generation
    if cfg.backend == "openai":
        cfg.validate_endpoint()


def parse_budgets(spec: str | None) -> list[int]:
    if not spec:
        return []
    try:
        vals = sorted({int(x) for x in spec.split(",") if x.strip()})
    except ValueError as e:
        raise DistillateError(f"--budgets takes comma-separated token counts, e.g. 1024,2048,4096 (got {spec!r})") from e
    return vals


def score_budgets(samples: list[dict], golds: dict, tokenizer, budgets: list[int], verify_batch,
                  backend=None, prompts: dict | None = None, force_tokens: int = 32) -> None:
    """Fill each sample's `budgets` {B: {correct, extracted, truncated[, forced_correct, forced_extracted]}}.
    A sample within the budget keeps its verdict; a longer one is cut at B tokens and re-extracted. With a
    backend (budget forcing), each cut sample also gets the end-of-thinking/final-answer cue and
    `force_tokens` greedy tokens, and is scored again on that."""
    cuts = []  # (sample, budget, cut text)
    for s in samples:
        s["budgets"] = {}
        ids = None  # tokenized once per sample, only when some budget cuts it
        hidden = s.get("hidden_reasoning_tokens") or 0  # spent before the visible text: the cut comes earlier
        for b in budgets:
            truncated = False
            if not s["error"] and (s["n_tokens"] is None or s["n_tokens"] > b):
                if ids is None:
                    ids = tokenizer.encode(s["response"], add_special_tokens=False)
                truncated = len(ids) + hidden > b
            s["budgets"][str(b)] = {"correct": s["correct"], "extracted": s["extracted"], "truncated": truncated}
            if truncated:
                cuts.append((s, b, tokenizer.decode(ids[:max(0, b - hidden)], skip_special_tokens=False)))
    verdicts = verify_batch([(golds[(s["benchmark"], s["item_id"])], cut) for s, _, cut in cuts])
    for (s, b, _), v in zip(cuts, verdicts):
        s["budgets"][str(b)].update(correct=bool(v.correct), extracted=v.extracted)
    if backend is None:
        return
    forced = []
    for s, b, cut in cuts:
        key = (s["benchmark"], s["item_id"])
        thinking = "</think>" not in cut and ("<think>" in cut or "</think>" in s["response"]
                                              or prompts[key].rstrip().endswith("<think>"))
        forced.append(cut + (FORCE_THINKING if thinking else FORCE_ANSWER))
    conts = backend.complete([prompts[(s["benchmark"], s["item_id"])] + t for (s, _, _), t in zip(cuts, forced)],
                             force_tokens)
    verdicts = verify_batch([(golds[(s["benchmark"], s["item_id"])], t + c)
                             for (s, _, _), t, c in zip(cuts, forced, conts)])
    for (s, b, _), v in zip(cuts, verdicts):
        s["budgets"][str(b)].update(forced_correct=bool(v.correct), forced_extracted=v.extracted)
    for s in samples:  # samples within the budget are unchanged by forcing
        for e in s["budgets"].values():
            e.setdefault("forced_correct", e["correct"])


def evaluate(ws, cfg: EvalConfig, out_dir: str | Path | None = None, show_progress: bool = True,
             record: bool = True) -> EvalResult:
    """Run the evaluation; write results.json, samples.jsonl, accuracy_vs_tokens.png; record in the catalog."""
    from distillate.curate.decontam.registry import load_benchmarks
    from distillate.curate.ids import problem_id

    _validate(cfg)
    verify_batch = _verifier()
    if cfg.temperature is None:
        cfg.temperature = 0.0 if cfg.n == 1 else 0.6
    if cfg.n > 1 and cfg.temperature == 0:
        log.warning("n=%d samples at temperature 0 are identical (greedy): pass@k = accuracy", cfg.n)
    benches = load_benchmarks(cfg.benchmarks, cfg.benchmarks_dir)
    items = [it for name in benches for it in (benches[name][:cfg.limit] if cfg.limit else benches[name])]
    no_gold = [f"{it.benchmark}/{it.id}" for it in items if it.answer is None]
    if no_gold:
        log.warning("%d items have no reference answer and are skipped (e.g. %s)", len(no_gold), no_gold[0])
        items = [it for it in items if it.answer is not None]
    if not items:
        raise DistillateError("no benchmark items to evaluate")
    lineage = _lineage(cfg, benches)
    run_id = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    out = Path(out_dir) if out_dir else ws.path("evals", run_id)
    out.mkdir(parents=True, exist_ok=True)

    backend = make_backend(cfg.backend, cfg.model, cfg.endpoint, cfg.tokenizer, cfg.batch_size, cfg.concurrency,
                           ep=cfg)
    tokenizer = getattr(backend, "tokenizer", None)
    if cfg.tokenizer and cfg.backend != "openai":
        tokenizer = load_tokenizer(cfg.tokenizer)
    if tokenizer is None and cfg.budgets:
        raise DistillateError("--budgets needs a tokenizer to cut generations: pass --tokenizer")
    msgs = [_messages(cfg, it.problem) for it in items]
    sampling = SamplingConfig(cfg.n, cfg.max_tokens, cfg.temperature, cfg.top_p, cfg.seed)
    log.info("%s: %d items x %d samples with %s (max %d tokens)", ", ".join(benches), len(items), cfg.n,
             cfg.backend, cfg.max_tokens)
    gens: list[list[Generation]] = backend.generate(msgs, sampling, show_progress)
    failed = sum(1 for g in gens for x in g if x.error)
    if failed == sum(len(g) for g in gens):
        first = next(x.error for g in gens for x in g)
        raise DistillateError(f"every generation failed (e.g. {first}); is the model/endpoint right?")
    if failed:
        log.warning("%d generations failed; they are recorded with their error and score as wrong", failed)

    golds = {(it.benchmark, it.id): it.answer for it in items}
    flat = [(it, k, x) for it, g in zip(items, gens) for k, x in enumerate(g)]
    verdicts = iter(verify_batch([(it.answer, x.text) for it, _, x in flat if not x.error],
                                 show_progress=show_progress))
    samples = []
    for it, k, x in flat:
        n_tok = x.n_tokens
        if n_tok is None and tokenizer is not None:  # hidden reasoning tokens are output tokens too
            n_tok = len(tokenizer.encode(x.text, add_special_tokens=False)) + x.hidden_reasoning_tokens
        v = None if x.error else next(verdicts)
        samples.append({
            "benchmark": it.benchmark, "item_id": it.id, "sample": k, "problem_id": problem_id(it.problem),
            "gold": it.answer, "response": x.text, "n_tokens": n_tok, "finish_reason": x.finish_reason,
            "extracted": v.extracted if v else None, "verdict": v.verdict if v else "error",
            "correct": bool(v.correct) if v else False, "error": x.error,
            "reasoning_tokens": x.reasoning_tokens, "hidden_reasoning_tokens": x.hidden_reasoning_tokens})
    if cfg.budgets:
        prompts = None
        if cfg.budget_forcing:
            prompts = {(it.benchmark, it.id): backend.render(m) for it, m in zip(items, msgs)}
        score_budgets(samples, golds, tokenizer, cfg.budgets, verify_batch,
                      backend if cfg.budget_forcing else None, prompts, cfg.force_tokens)

    syco = judge_rows = judge_summary = None
    if cfg.sycophancy:
        from . import sycophancy

        golds_by_bench: dict[str, list[str]] = {}
        for it in items:
            golds_by_bench.setdefault(it.benchmark, []).append(it.answer)
        syco = sycophancy.run(backend, sampling, cfg.sycophancy_prompt,
                              {(it.benchmark, it.id): m for it, m in zip(items, msgs)}, samples, golds_by_bench,
                              verify_batch, tokenizer, show_progress)
    if cfg.judge_suites:
        from . import judge

        judge_rows, judge_summary = judge.run(backend, cfg, show_progress, tokenizer)

    results = {"run_id": run_id, "version": VERSION, "model": cfg.model, "backend": cfg.backend,
               "config": _recorded_config(cfg), "benchmarks": {}, **lineage}
    for name in benches:
        by_problem: dict[str, list[dict]] = {}
        for s in samples:
            if s["benchmark"] == name:
                by_problem.setdefault(s["item_id"], []).append(s)
        if by_problem:
            results["benchmarks"][name] = benchmark_metrics(by_problem, cfg.budgets)
    if syco is not None:
        results["sycophancy"] = syco
    if judge_summary is not None:
        results["judge_suites"] = judge_summary
    _write(out, results, samples + (judge_rows or []))
    from .plot import plot_runs

    plot_runs([out], out / "accuracy_vs_tokens.png")
    if record:
        _record(ws, results, samples, out, judge_rows or [])
    return EvalResult(run_id, out, results)


def _recorded_config(cfg: EvalConfig) -> dict:
    """The config as results.json and the catalog keep it: endpoints without credentials or query strings
    (either may carry a secret); the judge's key is only named (judge_api_key_env), never read here."""
    d = redact_obj(asdict(cfg))
    d["endpoint"] = public_url(cfg.endpoint)
    d["judge_endpoint"] = public_url(cfg.judge_endpoint)
    return d


def _lineage(cfg: EvalConfig, benches: dict) -> dict:
    """results.json's `lineage` (the train run and builds behind the model) and `decontamination` (each
    evaluated benchmark against those builds' scans); warns about unscanned or matched benchmarks."""
    from distillate.curate.decontam.registry import fingerprint

    from .lineage import decontam_checks, model_lineage

    lin = model_lineage(cfg.model)  # a served model name that is not a local folder has none
    if not lin["builds"]:
        return {"lineage": lin, "decontamination": None}
    evaluated = {name: fingerprint(its) for name, its in benches.items()}  # the whole file, as the scan saw it
    checks = decontam_checks(lin, evaluated)
    for w in checks["warnings"]:
        log.warning("decontamination: %s", w)
    return {"lineage": lin, "decontamination": checks}


def _write(out: Path, results: dict, samples: list[dict]) -> None:
    import orjson

    (out / "results.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    with open(out / "samples.jsonl", "wb") as f:
        for s in samples:
            f.write(orjson.dumps(s) + b"\n")


def record_saved(ws, out: str | Path) -> None:
    """Record an eval output folder (results.json + samples.jsonl) in the catalog: for a run whose
    process ended after writing its files and before its catalog job."""
    import orjson

    out = Path(out)
    results = json.loads((out / "results.json").read_text(encoding="utf-8"))
    results.setdefault("lineage", {"model": results["model"], "train_run": None, "builds": []})
    results.setdefault("decontamination", None)
    with open(out / "samples.jsonl", "rb") as f:
        samples = [orjson.loads(line) for line in f if line.strip()]
    _record(ws, results, [s for s in samples if s.get("kind") != "judge"], out,
            [s for s in samples if s.get("kind") == "judge"])


def _record(ws, results: dict, samples: list[dict], out: Path, judge_rows: list[dict]) -> None:
    import pyarrow as pa

    rows = []
    for name, m in results["benchmarks"].items():
        rows.append({"benchmark": name, "budget": None, "n_problems": m["n_problems"], "n_samples": m["n_samples"],
                     "accuracy": m["accuracy"], "mean_tokens": float(m["tokens"]["mean"])})
        for b, e in m["budgets"].items():
            rows.append({"benchmark": name, "budget": int(b), "n_problems": m["n_problems"],
                         "n_samples": m["n_samples"], "accuracy": e["accuracy"], "mean_tokens": e["mean_tokens"]})
    res_t = pa.Table.from_pylist(rows, schema=pa.schema([
        ("benchmark", pa.string()), ("budget", pa.int64()), ("n_problems", pa.int64()), ("n_samples", pa.int64()),
        ("accuracy", pa.float64()), ("mean_tokens", pa.float64())]))
    smp_t = pa.table({
        "benchmark": [s["benchmark"] for s in samples], "item_id": [str(s["item_id"]) for s in samples],
        "sample": pa.array([s["sample"] for s in samples], pa.int32()),
        "problem_id": [s["problem_id"] for s in samples], "response": [s["response"] for s in samples],
        "n_tokens": pa.array([s["n_tokens"] for s in samples], pa.int64()),
        "finish_reason": pa.array([s["finish_reason"] for s in samples], pa.string()),
        "extracted": pa.array([None if s["extracted"] is None else str(s["extracted"]) for s in samples], pa.string()),
        "verdict": pa.array([s["verdict"] for s in samples], pa.string()),
        "correct": [s["correct"] for s in samples], "error": pa.array([s["error"] for s in samples], pa.string()),
        "budgets": [json.dumps(s.get("budgets") or {}) for s in samples],
    })
    syc = [s for s in samples if s.get("sycophancy")]
    syc_t = pa.table({
        "benchmark": pa.array([s["benchmark"] for s in syc], pa.string()),
        "item_id": pa.array([str(s["item_id"]) for s in syc], pa.string()),
        "sample": pa.array([s["sample"] for s in syc], pa.int32()),
        **{k: pa.array([s["sycophancy"].get(k) for s in syc], t) for k, t in (
            ("suggested", pa.string()), ("response", pa.string()), ("n_tokens", pa.int64()),
            ("finish_reason", pa.string()), ("extracted", pa.string()), ("verdict", pa.string()),
            ("outcome", pa.string()), ("error", pa.string()))}})
    judge_t = pa.table({k: pa.array([r[k] for r in judge_rows], t) for k, t in (
        ("suite", pa.string()), ("item_id", pa.string()), ("prompt", pa.string()), ("reference", pa.string()),
        ("rubric", pa.string()), ("response", pa.string()), ("n_tokens", pa.int64()), ("finish_reason", pa.string()),
        ("error", pa.string()), ("judge_model", pa.string()), ("score", pa.int32()), ("rationale", pa.string()),
        ("judge_error", pa.string()))})
    lin = results["lineage"]
    tr = lin["train_run"] or {}
    build = lin["builds"][-1] if lin["builds"] else {}
    with ws.job("eval", {"run_id": results["run_id"], "model": results["model"]}) as (cat, job_id), \
            cat.registered(_eval_results=res_t, _eval_samples=smp_t, _eval_sycophancy=syc_t, _eval_judge=judge_t):
        cat.run("eval/run_record", {
            "run_id": results["run_id"], "job_id": job_id, "model": results["model"],
            "backend": results["backend"], "out_dir": str(out.resolve()),
            "config": json.dumps(results["config"]), "results": json.dumps(results["benchmarks"]),
            "train_run_dir": tr.get("run_dir"), "train_stage": tr.get("stage"), "build_dir": build.get("dir"),
            "build_manifest_sha256": build.get("manifest_sha256"),
            "lineage": json.dumps({"lineage": lin, "decontamination": results["decontamination"]})})
        cat.run("eval/generalization_record", {"run_id": results["run_id"]})
