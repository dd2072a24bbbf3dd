"""The request loop shared by `generate` and `reformat`: plan -> journal -> send (concurrency, rate limits,
retries) -> store each finished request as a trace and its journal row, durably, before counting it done.

Resumability: request ids are deterministic (`request_id`), and the journal row of every request is written
before it is first sent. A finished request (completed, dropped or failed) is appended to the completion log
(wal.py) and fsynced before the runner counts it as done and frees its concurrency slot; the catalog takes
finished requests in batches every `commit_interval` -- trace, journal row and fidelity check in one
transaction -- and the log segments of a committed batch are deleted. After a kill the next run first replays
what the log still holds, so a kill re-sends at most the requests in flight, never one whose answer was
counted; a rerun of the same command sends only what is not completed/dropped (and, with retry_failed,
failures).

Backends drive the runner through its public methods: `begin`, `bill`, `store`, `drop`, `fail`, `commit`
and `info` (the openai path below, `vllm_backend.py`)."""

from __future__ import annotations

import asyncio
import hashlib
import random
import threading
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa

from distillate.errors import DistillateError
from distillate.log import log, progress

from ..catalog import Catalog
from ..ids import trace_id as make_trace_id
from ..ingest import Record, add_records, split_response
from ..ingest.readers import Row
from . import client as cl
from .config import GenerateConfig, ReformatConfig
from .pricing import Price, load_price_table, price_for
from .ratelimit import Limiter
from .wal import CompletionLog

DONE = ("completed", "dropped")


def _digest(*parts: Any) -> str:
    h = hashlib.blake2b(digest_size=12)
    for p in parts:
        h.update(str(p).encode("utf-8", "surrogatepass"))
        h.update(b"\x1f")
    return h.hexdigest()


def request_params(cfg: GenerateConfig, sample_index: int) -> dict:
    """The request's parameters as sent (part of the request id). `max_tokens` is the output cap whatever
    the family sends it as; reasoning models get no sampling parameters, so none are recorded."""
    seed = None if cfg.seed is None else cfg.seed + sample_index
    if cfg.family.sampling:
        params = {"max_tokens": cfg.max_tokens, "temperature": cfg.temperature, "top_p": cfg.top_p, "seed": seed}
    else:
        params = {"max_tokens": cfg.max_tokens, "seed": seed,
                  **({"reasoning_effort": cfg.reasoning_effort} if cfg.reasoning_effort else {})}
    return {**params, **({"extra_body": cfg.extra_body} if cfg.extra_body else {})}


def request_id(kind: str, problem_id: str, parent: str | None, sample_index: int, model: str, params: dict,
               tmpl_hash: str) -> str:
    return "r" + _digest(kind, problem_id, parent or "", sample_index, model,
                         orjson.dumps(params, option=orjson.OPT_SORT_KEYS).decode(), tmpl_hash)


@dataclass
class Spec:
    """One logical request."""

    request_id: str
    kind: str                       # generate | reformat
    problem_id: str
    problem: str
    answer: str | None
    sample_index: int
    messages: list[dict]
    params: dict
    parent_trace_id: str | None = None
    original_text: str | None = None      # reformat: what was rewritten
    original_response: str | None = None  # reformat: the whole original trace


@dataclass
class State:
    """A request's journal row as this run keeps it (written back after every attempt)."""

    status: str = "pending"
    attempts: int = 0
    errors: list[dict] = field(default_factory=list)
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    reasoning_tokens: int | None = None
    hidden_reasoning_tokens: int | None = None
    usage_estimated: bool | None = None
    cost_usd: float | None = None
    hidden_reasoning_cost_usd: float | None = None
    total_latency_s: float = 0.0
    latency_s: float | None = None
    finish_reason: str | None = None
    trace_id: str | None = None

    def bill(self, c: cl.Completion, price: Price | None) -> None:
        self.prompt_tokens = (self.prompt_tokens or 0) + c.prompt_tokens
        self.completion_tokens = (self.completion_tokens or 0) + c.completion_tokens
        if c.reasoning_tokens is not None:
            self.reasoning_tokens = (self.reasoning_tokens or 0) + c.reasoning_tokens
            self.hidden_reasoning_tokens = (self.hidden_reasoning_tokens or 0) + c.hidden_reasoning_tokens
        self.usage_estimated = bool(self.usage_estimated) or c.usage_estimated
        if price is not None:
            self.cost_usd = (self.cost_usd or 0.0) + price.cost(c.prompt_tokens, c.completion_tokens, c.cached_tokens)
            self.hidden_reasoning_cost_usd = (self.hidden_reasoning_cost_usd or 0.0) + \
                price.cost(0, c.hidden_reasoning_tokens)


@dataclass
class RunResult:
    source: str
    counters: dict[str, Any]

    def as_dict(self) -> dict:
        return asdict(self)


_PLAN_SCHEMA = pa.schema([("request_id", pa.string()), ("kind", pa.string()), ("problem_id", pa.string()),
                          ("parent_trace_id", pa.string()), ("sample_index", pa.int32()), ("source", pa.string()),
                          ("backend", pa.string()), ("endpoint", pa.string()), ("model", pa.string()),
                          ("params", pa.string()), ("template_hash", pa.string()), ("template_name", pa.string())])
_UPDATE_SCHEMA = pa.schema([("request_id", pa.string()), ("status", pa.string()), ("attempts", pa.int32()),
                            ("last_error", pa.string()), ("errors", pa.string()), ("finish_reason", pa.string()),
                            ("latency_s", pa.float64()), ("total_latency_s", pa.float64()),
                            ("prompt_tokens", pa.int64()), ("completion_tokens", pa.int64()),
                            ("reasoning_tokens", pa.int64()), ("hidden_reasoning_tokens", pa.int64()),
                            ("usage_estimated", pa.bool_()), ("cost_usd", pa.float64()),
                            ("hidden_reasoning_cost_usd", pa.float64()), ("trace_id", pa.string())])
_CHECK_SCHEMA = pa.schema([("trace_id", pa.string()), ("parent_trace_id", pa.string()), ("request_id", pa.string()),
                           ("passed", pa.bool_()), ("reasons", pa.list_(pa.string())), ("original_answer", pa.string()),
                           ("new_answer", pa.string()), ("answer_verdict", pa.string()),
                           ("length_ratio", pa.float64()), ("ngram_overlap", pa.float64())])


@dataclass
class _Batch:
    """What one catalog commit writes; the counters of its requests; the log segments it makes redundant."""

    updates: dict[str, dict]                  # request id -> journal row (the latest state wins)
    traces: list[tuple] = field(default_factory=list)
    checks: list[dict] = field(default_factory=list)
    finished: list[str] = field(default_factory=list)  # ids of the finished requests it holds
    segments: list[Path] = field(default_factory=list)


class Runner:
    def __init__(self, cat: Catalog, job_id: str, cfg: GenerateConfig, specs: list[Spec], *, log_dir: Path,
                 show_progress: bool = True):
        self.cat, self.job_id, self.cfg, self.specs = cat, job_id, cfg, specs
        self.show_progress = show_progress
        self.endpoint = cfg.public_endpoint if cfg.backend == "openai" else f"vllm:{cfg.model}"
        self.template = cfg.template
        self.tmpl_hash = cfg.template_hash
        self.price = price_for(load_price_table(cfg.price_table), cfg.model)
        if self.price is None and cfg.price_table:
            log.warning("no price for model %s in %s: cost is recorded as unknown", cfg.model, cfg.price_table)
        self.states: dict[str, State] = {}
        self.c = {"planned": len(specs), "already_done": 0, "sent": 0, "completed": 0, "dropped": 0, "failed": 0,
                  "attempts": 0, "retries": 0, "length_retries": 0, "truncated_kept": 0, "traces_new": 0,
                  "traces_present": 0, "prompt_tokens": 0, "completion_tokens": 0, "reasoning_tokens": 0,
                  "hidden_reasoning_tokens": 0, "cost_usd": 0.0 if self.price else None,
                  "hidden_reasoning_cost_usd": 0.0 if self.price else None}
        if isinstance(cfg, ReformatConfig):
            self.c.update(fidelity_passed=0, fidelity_failed=0)
        self.c["commits"] = 0
        self.fatal: cl.AttemptError | None = None
        self._queued = _Batch({})
        self._commit_lock = threading.Lock()
        self._log = CompletionLog(log_dir, job_id)
        self._uncounted: dict[str, list[str]] = {}  # finished request -> counters it adds once durable

    # -- journal -----------------------------------------------------------------------------
    def _recover(self) -> None:
        """Replay the completion log of a killed run into the catalog (before anything is planned)."""
        entries, paths = CompletionLog.read_pending(self._log.dir)
        groups: dict[tuple, _Batch] = {}
        for e in entries:
            b = groups.setdefault((e["source"], e["endpoint"]), _Batch({}))
            b.updates[e["update"]["request_id"]] = e["update"]
            if e["trace"] is not None:
                b.traces.append((Row(None, None), Record(**e["trace"]["record"]), e["trace"]["source_id"]))
            if e["check"] is not None:
                b.checks.append(e["check"])
        for (source, endpoint), b in groups.items():
            self._commit(b, source=source, endpoint=endpoint)
        CompletionLog.remove(paths)
        if entries:
            log.info("recovered %d finished request(s) of an interrupted run from its completion log", len(entries))

    def plan(self) -> list[Spec]:
        """Journal every request (pending unless known) and return the ones to send."""
        cfg = self.cfg
        self._recover()
        rows = [{"request_id": s.request_id, "kind": s.kind, "problem_id": s.problem_id,
                 "parent_trace_id": s.parent_trace_id, "sample_index": s.sample_index, "source": cfg.source_name,
                 "backend": cfg.backend, "endpoint": self.endpoint, "model": cfg.model,
                 "params": orjson.dumps(s.params, option=orjson.OPT_SORT_KEYS).decode(),
                 "template_hash": self.tmpl_hash, "template_name": self.template.name} for s in self.specs]
        tbl = pa.table({f.name: pa.array([r[f.name] for r in rows], f.type) for f in _PLAN_SCHEMA}, schema=_PLAN_SCHEMA)
        with self.cat.registered(_gen_plan=tbl):
            with self.cat.transaction():
                self.cat.run("generate/plan", {"job_id": self.job_id})
            known = {r["request_id"]: r for r in self.cat.query("generate/plan_state")}
        todo = []
        for s in self.specs:
            r = known[s.request_id]
            st = State(status=r["status"], attempts=r["attempts"] or 0,
                       errors=orjson.loads(r["errors"]) if r["errors"] else [],
                       prompt_tokens=r["prompt_tokens"], completion_tokens=r["completion_tokens"],
                       reasoning_tokens=r["reasoning_tokens"], hidden_reasoning_tokens=r["hidden_reasoning_tokens"],
                       cost_usd=r["cost_usd"], hidden_reasoning_cost_usd=r["hidden_reasoning_cost_usd"],
                       total_latency_s=r["total_latency_s"] or 0.0, usage_estimated=r["usage_estimated"])
            self.states[s.request_id] = st
            if st.status in DONE or (st.status == "failed" and not self.cfg.retry_failed):
                self.c["already_done"] += 1
            else:
                todo.append(s)
        return todo

    def _row(self, spec: Spec, st: State, last_error: str | None) -> dict:
        return {
            "request_id": spec.request_id, "status": st.status, "attempts": st.attempts, "last_error": last_error,
            "errors": orjson.dumps(st.errors).decode() if st.errors else None, "finish_reason": st.finish_reason,
            "latency_s": st.latency_s, "total_latency_s": round(st.total_latency_s, 4),
            "prompt_tokens": st.prompt_tokens, "completion_tokens": st.completion_tokens,
            "reasoning_tokens": st.reasoning_tokens, "hidden_reasoning_tokens": st.hidden_reasoning_tokens,
            "usage_estimated": st.usage_estimated, "cost_usd": st.cost_usd,
            "hidden_reasoning_cost_usd": st.hidden_reasoning_cost_usd, "trace_id": st.trace_id}

    def _write(self, spec: Spec, st: State, last_error: str | None = None) -> None:
        """Queue the request's journal row for the next commit (the latest state of a request wins)."""
        self._queued.updates[spec.request_id] = self._row(spec, st, last_error)

    def _final(self, spec: Spec, st: State, last_error: str | None, counters: list[str], rec: Record | None = None,
               check: dict | None = None) -> None:
        """A finished request: to the completion log (durable at the next sync) and queued for the catalog."""
        row = self._row(spec, st, last_error)
        self._log.append({"source": self.cfg.source_name, "endpoint": self.endpoint, "update": row,
                          "trace": None if rec is None else {"record": asdict(rec), "source_id": spec.request_id},
                          "check": check})
        q = self._queued
        q.updates[spec.request_id] = row
        if rec is not None:
            q.traces.append((Row(None, None), rec, spec.request_id))
        if check is not None:
            q.checks.append(check)
        q.finished.append(spec.request_id)
        self._uncounted[spec.request_id] = counters

    def _take(self) -> _Batch | None:
        """Detach what is queued and seal the log segment holding it (on the event loop's thread, in one step:
        every line of a sealed segment is in this batch or an earlier one)."""
        q = self._queued
        if not (q.updates or q.traces or q.checks):
            return None
        self._queued = _Batch({})
        q.segments = self._log.rotate()
        return q

    def _commit(self, batch: _Batch, source: str | None = None, endpoint: str | None = None) -> dict:
        """Traces, journal rows and fidelity checks in one transaction (thread-safe: the flusher runs it in a
        worker thread, while DuckDB releases the GIL and responses keep streaming in)."""
        with self._commit_lock:
            def journal():
                rows = pa.Table.from_pylist(list(batch.updates.values()), schema=_UPDATE_SCHEMA)
                with self.cat.registered(_gen_updates=rows):
                    self.cat.run("generate/update", {"job_id": self.job_id, "endpoint": endpoint or self.endpoint})
                if batch.checks:
                    with self.cat.registered(_gen_checks=pa.Table.from_pylist(batch.checks, schema=_CHECK_SCHEMA)):
                        self.cat.run("generate/reformat_check")

            return add_records(self.cat, self.job_id, source or self.cfg.source_name, batch.traces,
                               before_commit=journal)

    def _count(self, request_id: str) -> None:
        for name in self._uncounted.pop(request_id, ()):
            self.c[name] += 1

    def _committed(self, batch: _Batch, res: dict) -> None:
        """After a catalog commit (on the caller's thread): its log segments are redundant; its requests count."""
        CompletionLog.remove(batch.segments)
        self.c["traces_new"] += res["new"]
        self.c["traces_present"] += res["present"]
        self.c["commits"] += 1
        for rid in batch.finished:
            self._count(rid)

    # -- the interface a backend drives ------------------------------------------------------
    def begin(self, specs: list[Spec]) -> None:
        """Mark requests as sent (journal status running), committed at once."""
        self.c["sent"] += len(specs)
        for s in specs:
            self.states[s.request_id].status = "running"
            self._write(s, self.states[s.request_id])
        self.commit()

    def bill(self, spec: Spec, comp: cl.Completion, latency_s: float) -> None:
        """A billed response: its usage and cost go to the request's journal row and the run's counters."""
        st = self.states[spec.request_id]
        st.total_latency_s += latency_s
        st.latency_s = round(latency_s, 4)
        st.bill(comp, self.price)
        c = self.c
        c["prompt_tokens"] += comp.prompt_tokens
        c["completion_tokens"] += comp.completion_tokens
        c["reasoning_tokens"] += comp.reasoning_tokens or 0
        c["hidden_reasoning_tokens"] += comp.hidden_reasoning_tokens
        if self.price is not None:
            c["cost_usd"] += self.price.cost(comp.prompt_tokens, comp.completion_tokens, comp.cached_tokens)
            c["hidden_reasoning_cost_usd"] += self.price.cost(0, comp.hidden_reasoning_tokens)

    def _split(self, comp: cl.Completion) -> tuple[str | None, str | None, bool | None]:
        if comp.reasoning is not None:  # reasoning_content style: the content is the answer
            solution = comp.content.strip() or None
            return comp.reasoning.strip("\n"), solution, solution is not None
        return split_response(comp.content)

    async def store(self, spec: Spec, comp: cl.Completion, max_tokens: int) -> None:
        """Queue the trace, its journal row and its fidelity check for the next commit (which counts the request
        as completed). Raises MalformedResponse when the response holds no text after parsing."""
        st = self.states[spec.request_id]
        thought, solution, closed = self._split(comp)
        if thought is None and solution is None:
            raise cl.MalformedResponse("response without text after parsing")
        fid = None
        if spec.kind == "reformat":
            from .fidelity import check

            fid = await check(self.cfg, spec.original_text or "", spec.original_response or "", spec.answer,
                              thought, solution)
        tid = make_trace_id(spec.problem_id, thought, solution)
        st.status, st.finish_reason, st.trace_id = "completed", comp.finish_reason, tid
        meta = {"generation": {
            "kind": spec.kind, "request_id": spec.request_id, "backend": self.cfg.backend, "endpoint": self.endpoint,
            "model": self.cfg.model, "served_model": comp.served_model, "response_id": comp.response_id,
            "params": spec.params, "max_tokens_sent": max_tokens, "template_name": self.template.name,
            "template_hash": self.tmpl_hash, "sample_index": spec.sample_index, "attempts": st.attempts,
            "usage": {"prompt_tokens": comp.prompt_tokens, "completion_tokens": comp.completion_tokens,
                      "reasoning_tokens": comp.reasoning_tokens,
                      "hidden_reasoning_tokens": comp.hidden_reasoning_tokens, "estimated": comp.usage_estimated},
            "cost_usd": st.cost_usd, "latency_s": st.latency_s}}
        rec = Record(problem=spec.problem, answer=spec.answer, thought=thought, solution=solution,
                     thought_closed=closed, finish_reason=comp.finish_reason, model=self.cfg.model,
                     metadata=meta, parent_trace_id=spec.parent_trace_id)
        counters, check = ["completed"] + (["truncated_kept"] if comp.finish_reason == "length" else []), None
        if fid is not None:
            check = {"trace_id": tid, "parent_trace_id": spec.parent_trace_id, "request_id": spec.request_id,
                     "passed": fid.passed, "reasons": fid.reasons, "original_answer": fid.original_answer,
                     "new_answer": fid.new_answer, "answer_verdict": fid.answer_verdict,
                     "length_ratio": fid.length_ratio, "ngram_overlap": fid.ngram_overlap}
            counters.append("fidelity_passed" if fid.passed else "fidelity_failed")
        self._final(spec, st, None, counters, rec, check)

    def drop(self, spec: Spec, message: str) -> None:
        """finish_reason=length and nothing to keep: no trace; the tokens stay billed in the journal."""
        st = self.states[spec.request_id]
        st.status, st.finish_reason = "dropped", "length"
        st.errors.append({"attempt": st.attempts, "kind": "length", "status": None, "at": time.time(),
                          "message": message})
        self._final(spec, st, message, ["dropped"])

    def fail(self, spec: Spec, kind: str, message: str, status: int | None = None, *, record: bool = True) -> None:
        """The request's final failure (its reason kept in the journal)."""
        st = self.states[spec.request_id]
        if record:
            st.errors.append({"attempt": st.attempts, "kind": kind, "status": status, "at": time.time(),
                              "message": message})
        st.status = "failed"
        self._final(spec, st, message, ["failed"])
        log.debug("request %s failed: %s", spec.request_id, message)

    def commit(self) -> None:
        """Commit everything queued to the catalog now (synchronously) and count what it holds."""
        batch = self._take()
        if batch is not None:
            self._committed(batch, self._commit(batch))

    def info(self) -> str:
        c = self.c
        cost = f"${c['cost_usd']:.4f}" if c["cost_usd"] is not None else "$?"
        return (f"{c['completed']} ok · {c['failed']} failed · {c['dropped']} dropped · {c['retries']} retries · "
                f"{c['prompt_tokens'] + c['completion_tokens']:,} tok · {cost}")

    @property
    def finished(self) -> int:
        return self.c["completed"] + self.c["failed"] + self.c["dropped"]

    # -- durability and catalog batches (openai backend) -----------------------------------------
    async def _durable(self, spec: Spec) -> None:
        """Return once the request's final state (logged before this call) is on disk; then it counts."""
        await self._log.sync()
        self._count(spec.request_id)

    async def _flusher(self) -> None:
        # The only task that touches the catalog while requests run, one commit at a time, in a thread
        # (DuckDB releases the GIL) so that responses keep streaming in meanwhile.
        while True:  # cancelled by the run when every worker is done
            await asyncio.sleep(self.cfg.commit_interval)
            batch = self._take()
            if batch is not None:
                self._committed(batch, await asyncio.to_thread(self._commit, batch))

    # -- the openai loop ---------------------------------------------------------------------
    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        b = min(self.cfg.backoff_max, self.cfg.backoff_base * 2 ** (attempt - 1)) * random.uniform(0.5, 1.0)
        return max(b, retry_after or 0.0)

    async def _one(self, client, limiter: Limiter, spec: Spec, bar, task) -> None:
        cfg, st = self.cfg, self.states[spec.request_id]
        max_tokens = spec.params["max_tokens"]
        cap = cfg.max_tokens_limit or 4 * cfg.max_tokens
        prompt_chars = sum(len(m["content"]) for m in spec.messages)
        tries = length_tries = 0
        ended = False  # completed, dropped or failed in this run
        self.c["sent"] += 1
        while not ended and tries < cfg.max_attempts and self.fatal is None:
            # bounded: max_attempts + length_retries sends
            est = prompt_chars / 4 + max_tokens
            await limiter.acquire(est, deadline=time.monotonic() + max(600.0, cfg.timeout))
            tries += 1
            st.attempts += 1
            self.c["attempts"] += 1
            st.status = "running"
            self._write(spec, st, st.errors[-1]["message"] if st.errors else None)
            kw = cl.request_kwargs(cfg, spec.messages, spec.params, max_tokens, cfg.stream, cfg.extra_body,
                                   spec.request_id, st.attempts)
            t0 = time.monotonic()
            try:
                comp = await asyncio.wait_for(cl.call(client, kw, prompt_chars), cfg.timeout)
                limiter.settle(est, comp.prompt_tokens + comp.completion_tokens)
                self.bill(spec, comp, time.monotonic() - t0)
                if comp.finish_reason == "length" and cfg.on_length == "retry" and \
                        length_tries < cfg.length_retries and max_tokens < cap:
                    length_tries += 1
                    tries -= 1  # a length retry is not a failure: it has its own budget
                    self.c["length_retries"] += 1
                    st.errors.append({"attempt": st.attempts, "kind": "length", "status": None, "at": time.time(),
                                      "message": f"finish_reason=length at {max_tokens} tokens; retrying with "
                                                 f"{min(cap, max_tokens * 2)}"})
                    max_tokens = min(cap, max_tokens * 2)
                    self._write(spec, st, st.errors[-1]["message"])
                    continue
                if comp.finish_reason == "length" and cfg.on_length == "drop":
                    self.drop(spec, "finish_reason=length: dropped (--on-length drop)")
                elif comp.finish_reason == "length" and not comp.has_text:
                    self.drop(spec, f"finish_reason=length before any visible output (hidden reasoning used the "
                                    f"whole cap of {max_tokens} tokens): raise --max-tokens")
                else:
                    await self.store(spec, comp, max_tokens)
                ended = True
            except asyncio.CancelledError:
                raise
            except Exception as e:  # noqa: BLE001 - every failure is classified and journaled
                st.total_latency_s += time.monotonic() - t0
                err = cl.classify(e, cfg)
                if err.kind in ("timeout", "connection", "error", "server_error"):
                    limiter.settle(est, 0)  # nothing was generated for us
                st.errors.append({"attempt": st.attempts, "kind": err.kind, "status": err.status, "at": time.time(),
                                  "message": err.message})
                if err.retry_after:
                    limiter.pause(err.retry_after)
                if not err.retryable or tries >= cfg.max_attempts:
                    if err.fatal and self.fatal is None:
                        self.fatal = err
                    self.fail(spec, err.kind, err.message, err.status, record=False)
                    ended = True
                else:
                    self.c["retries"] += 1
                    self._write(spec, st, err.message)
                    log.debug("request %s attempt %d: %s (retrying)", spec.request_id, st.attempts, err.message)
                    await asyncio.sleep(self._backoff(tries, err.retry_after))
            finally:
                bar.update(task, info=self.info())
        if ended:
            await self._durable(spec)  # counted as done (and its slot freed) only once it is on disk
        elif self.fatal is not None and st.status == "running":
            st.status = "pending"  # never got its turn because the run stopped: sent again next time
            self._write(spec, st, st.errors[-1]["message"] if st.errors else None)

    async def _run_openai(self, todo: list[Spec], bar, task) -> None:
        client = self.cfg.client(asynchronous=True, max_retries=0)
        limiter = Limiter(self.cfg.rpm, self.cfg.tpm)
        queue: asyncio.Queue[Spec] = asyncio.Queue()
        for s in todo:
            queue.put_nowait(s)

        async def worker():
            while self.fatal is None:
                try:
                    spec = queue.get_nowait()
                except asyncio.QueueEmpty:
                    return
                await self._one(client, limiter, spec, bar, task)
                bar.update(task, completed=self.finished)

        flusher = asyncio.create_task(self._flusher())
        try:
            await asyncio.gather(*(worker() for _ in range(min(self.cfg.concurrency, len(todo)))))
        finally:
            flusher.cancel()
            try:
                await flusher
            except asyncio.CancelledError:
                pass
            self.commit()
            await client.close()

    def run(self) -> RunResult:
        try:
            return self._run()
        finally:
            self._log.close()

    def _run(self) -> RunResult:
        todo = self.plan()
        log.info("%s: %d request(s) planned, %d already done, %d to send", self.cfg.source_name,
                 len(self.specs), self.c["already_done"], len(todo))
        with progress(disable=not self.show_progress) as bar:
            task = bar.add_task(f"{self.specs[0].kind if self.specs else 'generate'} {self.cfg.model}",
                                total=len(todo), info=self.info())
            if todo:
                if self.cfg.backend == "vllm":
                    from .vllm_backend import run_vllm

                    run_vllm(self, todo, bar, task)
                else:
                    asyncio.run(self._run_openai(todo, bar, task))
            bar.update(task, completed=self.finished, info=self.info())
        for k in ("cost_usd", "hidden_reasoning_cost_usd"):
            if self.c[k] is not None:
                self.c[k] = round(self.c[k], 9)
        if self.fatal is not None:
            f = self.fatal
            if f.kind == "unsupported_parameter":
                raise DistillateError(f"stopped: {f.message} ({self.c['failed']} request(s) refused, the others not "
                                      "sent; completed requests are kept)")
            raise DistillateError(f"stopped after a {f.kind} error (status {f.status}): {f.message}; completed "
                                  "requests are kept, rerun to resume")
        if self.c["sent"] and self.c["failed"] == self.c["sent"]:
            raise DistillateError(self._all_failed())
        return RunResult(self.cfg.source_name, self.c)

    def _all_failed(self) -> str:
        kinds: Counter = Counter()
        example = None
        for st in self.states.values():
            if st.status == "failed" and st.errors:
                kinds[st.errors[-1]["kind"]] += 1
                example = example or st.errors[-1]["message"]
        return (f"every request failed ({self.c['failed']} of {self.c['sent']} sent: "
                + ", ".join(f"{k} {n}" for k, n in kinds.most_common()) + f"), e.g. {example}; the failures are "
                "journaled (distillate report) and a rerun retries them")
