"""The `stats` curation stage: trace_signals + trace_markers per trace, problem_signals per problem."""

from __future__ import annotations

import gc
from dataclasses import replace
from typing import Any

import orjson

from distillate.log import log, progress

from . import kernels
from .text import SignalConfig, compile_markers, compiled_signals, problem_signals, trace_signals
from .tokenize import TokenizerSpec, count_tokens, start_resolve

VERSION = 2  # 2: the compiled kernels (words lowercased per code point)
PROBLEM_BATCH = 2000


def _workers(cfg: SignalConfig, items: int, batch_size: int) -> int | None:
    """cfg.workers, else one batch runs in this process and more use every core."""
    return cfg.workers or (1 if items <= batch_size else None)


def compute_batch(batch, job: tuple[SignalConfig, TokenizerSpec, str]):
    """Signals of one batch of (trace_id, thought, solution, thought_closed, finish_reason) rows, a list or
    an Arrow table (what the stage sends: its process then never builds the Python strings), as Arrow
    tables (trace_signals rows, trace_markers rows), built here so the stage's process only writes them.
    Runs in a worker process (curate/executor.py). A trace that fails gets a row with `error` set, never an
    exception."""
    # a batch allocates hundreds of thousands of small objects (marker tuples, match objects, rows) and no
    # cycles: the cyclic collector would scan them over and over (~10% of a batch's time here)
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _compute_batch(batch, job)
    finally:
        if enabled:
            gc.enable()


def _compute_batch(batch, job: tuple[SignalConfig, TokenizerSpec, str]):
    cfg, spec, config_hash = job
    rows = batch if isinstance(batch, list) else list(zip(*(c.to_pylist() for c in batch.columns)))
    marker_re, kinds = compile_markers(cfg.markers)
    texts = [t or "" for r in rows for t in (r[1], r[2])]
    encoded = kernels.encode(texts)
    try:
        counts = count_tokens(texts, spec, encoded)
    except Exception:  # noqa: BLE001 - isolate the offending text(s) one by one
        counts = []
        for t in texts:
            try:
                counts.append(count_tokens([t], spec)[0])
            except Exception:  # noqa: BLE001
                counts.append(None)
    compiled = compiled_signals(encoded, cfg.ngram)
    out, markers = [], []
    for i, (tid, thought, solution, closed, finish) in enumerate(rows):
        th_n, so_n = counts[2 * i], counts[2 * i + 1]
        row: dict[str, Any] = {"trace_id": tid, "signal_version": VERSION, "tokenizer": spec.name,
                               "config_hash": config_hash, "thought_tokens": th_n, "solution_tokens": so_n,
                               "n_tokens": None if th_n is None or so_n is None else th_n + so_n, "error": None}
        try:
            if row["n_tokens"] is None:
                raise ValueError("the tokenizer failed on this text")
            sig, mk = trace_signals(thought, solution, closed, finish, cfg, marker_re, kinds, row["n_tokens"],
                                    compiled[i])
            sig["marker_counts"] = [{"key": k, "value": v} for k, v in sig["marker_counts"].items()]
            row.update(sig)
            markers.append(mk)
        except Exception as e:  # noqa: BLE001 - recorded per trace
            row["error"] = f"{type(e).__name__}: {e}"[:500]
            markers.append([])
        out.append(row)
    return _arrow_signals(out), _arrow_markers([r[0] for r in rows], markers)


def _arrow_signals(rows: list[dict]):
    import pyarrow as pa

    schema = pa.schema([
        ("trace_id", pa.string()), ("signal_version", pa.int32()), ("tokenizer", pa.string()),
        ("config_hash", pa.string()), ("n_tokens", pa.int32()), ("thought_tokens", pa.int32()),
        ("solution_tokens", pa.int32()), ("error", pa.string()),
        ("n_chars", pa.int32()), ("n_lines", pa.int32()), ("n_paragraphs", pa.int32()), ("n_steps", pa.int32()),
        ("n_markers", pa.int32()), ("markers_per_1k", pa.float64()),
        ("marker_counts", pa.list_(pa.struct([("key", pa.string()), ("value", pa.int32())]))),
        ("thought_unclosed", pa.bool_()), ("no_final_answer", pa.bool_()), ("ends_mid_sentence", pa.bool_()),
        ("finish_length", pa.bool_()), ("truncation_reasons", pa.list_(pa.string())), ("truncated", pa.bool_()),
        ("rep_ngram_share", pa.float64()), ("tail_rep_ngram_share", pa.float64()),
        ("longest_repeat_words", pa.int32()), ("compression_ratio", pa.float64()), ("looping", pa.bool_()),
        ("n_boxed", pa.int32()), ("n_distinct_boxed", pa.int32()), ("final_answer", pa.string()),
        ("thought_answer", pa.string()), ("answers_agree", pa.bool_()), ("foreign_script_share", pa.float64()),
        ("language_mixed", pa.bool_()), ("has_thought", pa.bool_()), ("has_solution", pa.bool_()),
        ("tags_well_formed", pa.bool_()), ("format_ok", pa.bool_())])
    return pa.Table.from_pylist(rows, schema=schema)


def _arrow_markers(ids: list[str], markers: list[list[tuple]]):
    """trace_markers rows of each trace's (kind, part, pos, len) list; ids and kinds dictionary-encoded (a
    batch holds ~80 markers per trace)."""
    import numpy as np
    import pyarrow as pa

    flat = [m for mk in markers for m in mk]
    cols = list(zip(*flat)) if flat else [(), (), (), ()]
    owner = np.repeat(np.arange(len(ids), dtype=np.int32), [len(mk) for mk in markers])
    text = pa.dictionary(pa.int32(), pa.string())
    trace_id = pa.DictionaryArray.from_arrays(pa.array(owner, pa.int32()), pa.array(ids, pa.string()))
    return pa.table({"trace_id": trace_id, "kind": pa.array(cols[0], text), "part": pa.array(cols[1], text),
                     "pos": pa.array(cols[2], pa.int32()), "len": pa.array(cols[3], pa.int32())})


def _write_traces(cat, signals, markers) -> None:
    """One transaction: a kill never leaves a trace's signals without its markers."""
    cat.con.register("new_signals", signals)
    cat.con.register("new_markers", markers)
    cat.con.execute("BEGIN")
    try:
        cat.run("signals/write_traces")
        cat.con.execute("COMMIT")
    except BaseException:
        cat.con.execute("ROLLBACK")
        raise
    finally:
        cat.con.unregister("new_signals")
        cat.con.unregister("new_markers")


def _problem_batch(rows: list[tuple], job: tuple[SignalConfig, str]):
    """problem_signals rows of a batch of (problem_id, problem, answer) as an Arrow table (a worker's part)."""
    import re

    import pyarrow as pa

    cfg, config_hash = job
    compiled = {k: re.compile(v, re.IGNORECASE) for k, v in cfg.problem_patterns.items()}
    out = []
    for pid, problem, answer in rows:
        s = problem_signals(problem, answer, cfg, compiled)
        s["evidence"] = orjson.dumps(s["evidence"]).decode()
        out.append({"problem_id": pid, "signal_version": VERSION, "config_hash": config_hash, **s})
    return pa.Table.from_pylist(out, schema=pa.schema([
        ("problem_id", pa.string()), ("signal_version", pa.int32()), ("config_hash", pa.string()),
        ("is_image", pa.bool_()), ("is_proof", pa.bool_()), ("is_multiple_choice", pa.bool_()),
        ("is_multi_part", pa.bool_()), ("no_reference", pa.bool_()), ("unsuitable", pa.bool_()),
        ("unsuitable_reasons", pa.list_(pa.string())), ("evidence", pa.string())]))


def compute_problems(cat, cfg: SignalConfig, config_hash: str, engine: str = "local",
                     ray_address: str | None = None) -> dict[str, int]:
    """Problem signals for every problem whose row is missing or outdated, in batches over the workers."""
    from distillate.curate.executor import map_batches

    todo = cat.sql("signals/problems_todo", {"version": VERSION, "config_hash": config_hash}).fetchall()
    counts = {"problems": len(todo), "unsuitable_problems": 0}
    batches = (todo[i:i + PROBLEM_BATCH] for i in range(0, len(todo), PROBLEM_BATCH))
    for tbl in map_batches(_problem_batch, batches, (cfg, config_hash), engine=engine, ray_address=ray_address,
                           workers=_workers(cfg, len(todo), PROBLEM_BATCH)):
        cat.con.register("new_problem_signals", tbl)
        try:
            cat.run("signals/write_problems")
        finally:
            cat.con.unregister("new_problem_signals")
        counts["unsuitable_problems"] += tbl["unsuitable"].to_pylist().count(True)
    return counts


def config_from_ctx(ctx) -> SignalConfig:
    cfg = SignalConfig()
    if ctx.opt("tokenizer"):
        cfg = replace(cfg, tokenizer=ctx.opt("tokenizer"))
    if ctx.opt("signals_workers"):
        cfg = replace(cfg, workers=int(ctx.opt("signals_workers")))
    return cfg


def run_stage(ctx, cfg: SignalConfig | None = None) -> dict[str, Any]:
    """Compute trace and problem signals for every row that is missing or outdated."""
    import pyarrow.compute as pc

    from distillate.curate.executor import map_batches
    from distillate.curate.shards import ShardedRun

    cfg = cfg or config_from_ctx(ctx)
    cat = ctx.cat
    config_hash = cfg.hash()
    resolving = start_resolve(cfg.tokenizer, ctx.ws.path("signals"))   # meanwhile, the problem signals
    try:
        counters: dict[str, Any] = compute_problems(cat, cfg, config_hash, ctx.opt("engine", "local"),
                                                    ctx.opt("ray_address"))
    finally:  # also when the problems fail: the tokenizer's child process is waited for and cleaned up
        spec = resolving()
    todo = dict(cat.sql("signals/traces_todo", {"version": VERSION, "tokenizer": spec.name,
                                                "config_hash": config_hash}).fetchall())  # id -> seq
    counters.update({"traces": len(todo), "tokenizer": spec.name, "truncated": 0, "looping": 0,
                     "language_mixed": 0, "errors": 0})
    if not todo:
        return counters
    cat.run("signals/clear_markers", {"ids": list(todo)})
    # shard by shard, with a completion marker per shard: a killed run resumes (curate/shards.py)
    shards = ShardedRun(ctx, "stats", f"{VERSION}:{spec.name}:{config_hash}")
    batches = shards.batches(todo, cfg.batch_size)
    workers = _workers(cfg, len(todo), cfg.batch_size)

    def texts():
        for b in batches:
            yield cat.arrow("signals/trace_texts", b)

    with progress(disable=not ctx.show_progress) as bar:
        task = bar.add_task("signals", total=len(todo), info="")
        for signals, markers in map_batches(compute_batch, texts(), (cfg, spec, config_hash),
                                            engine=ctx.opt("engine", "local"), workers=workers,
                                            ray_address=ctx.opt("ray_address")):
            _write_traces(cat, signals, markers)
            shards.written()
            for k in ("truncated", "looping", "language_mixed"):
                counters[k] += pc.sum(signals[k]).as_py() or 0
            counters["errors"] += len(signals) - signals["error"].null_count
            bar.update(task, advance=len(signals),
                       info=f"{counters['truncated']:,} truncated, {counters['looping']:,} looping")
    counters.update(shards.counters())
    if counters["errors"]:
        log.warning("signals: %d trace(s) failed; their rows carry `error` (SELECT trace_id, error FROM "
                    "trace_signals WHERE error IS NOT NULL)", counters["errors"])
    return counters
