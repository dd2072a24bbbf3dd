"""Ingestion: stream rows from files or HF datasets, parse any supported format, content-address them,
and add what is new to the catalog. Unreadable rows go to `quarantine` with file, line and reason:
every non-blank input line ends up ingested (new or already present) or quarantined."""

from __future__ import annotations

import os
from contextlib import closing as _closing
from dataclasses import dataclass, field
from pathlib import Path

import orjson
import pyarrow as pa

from distillate.errors import DistillateError
from distillate.log import log, progress

from ..catalog import Catalog
from ..ids import problem_id, trace_id
from .formats import FORMATS, Record, RecordError, parse_row, source_id_of, split_response
from .readers import Row, iter_rows

__all__ = ["ingest", "add_records", "validate_inputs", "IngestStats", "FORMATS", "split_response", "parse_row", "iter_rows", "Record"]

BATCH = 2000


@dataclass
class FileStats:
    file: str
    rows_read: int = 0
    records_new: int = 0
    records_present: int = 0
    quarantined: int = 0
    formats: dict[str, int] = field(default_factory=dict)


@dataclass
class IngestStats:
    source: str
    files: list[FileStats] = field(default_factory=list)

    def _sum(self, k: str) -> int:
        return sum(getattr(f, k) for f in self.files)

    @property
    def rows_read(self) -> int:
        return self._sum("rows_read")

    @property
    def ingested(self) -> int:
        return self._sum("records_new")

    @property
    def already_present(self) -> int:
        return self._sum("records_present")

    @property
    def quarantined(self) -> int:
        return self._sum("quarantined")

    def as_dict(self) -> dict:
        return {"source": self.source, "ingested": self.ingested, "already_present": self.already_present,
                "quarantined": self.quarantined, "rows_read": self.rows_read,
                "files": [f.__dict__ for f in self.files]}


class _Batch:
    """Rows waiting to be written; flushed every BATCH records through the sql/queries/ingest_*.sql files."""

    def __init__(self, cat: Catalog, source: str, job_id: str, seq: int):
        self.cat, self.source, self.job_id, self.seq = cat, source, job_id, seq
        self.clear()

    def clear(self):
        self.problems: dict[str, dict] = {}
        self.problem_sources: list[dict] = []
        self.traces: dict[str, dict] = {}
        self.trace_sources: list[dict] = []
        self.quarantine: list[dict] = []
        self.pending: list[tuple[FileStats, str, bool]] = []  # (stats, id, is_trace) per record, for counting

    def __len__(self):
        return len(self.pending) + len(self.quarantine)

    def add(self, stats: FileStats, row: Row, rec: Record, sid: str, ids: tuple[str, str | None]):
        """One record with its (problem_id, trace_id) from `record_ids`."""
        self.seq += 1
        pid, tid = ids
        if pid not in self.problems:
            self.problems[pid] = {"problem_id": pid, "problem": rec.problem, "answer": rec.answer,
                                  "reference_solution": rec.reference_solution, "first_source": self.source,
                                  "seq": self.seq, "metadata": _json(rec.metadata if not rec.is_trace else {})}
        self.problem_sources.append({"problem_id": pid, "source": self.source, "source_id": sid,
                                     "file": row.file, "line": row.line, "answer": rec.answer})
        if not rec.is_trace:
            self.pending.append((stats, pid, False))
            return
        if tid not in self.traces:
            self.traces[tid] = {
                "trace_id": tid, "problem_id": pid, "thought": rec.thought, "solution": rec.solution,
                "thought_closed": rec.thought_closed, "finish_reason": rec.finish_reason, "model": rec.model,
                "label_correct": rec.label_correct, "source": self.source, "source_id": sid,
                "file": row.file, "line": row.line, "seq": self.seq, "metadata": _json(rec.metadata),
                "parent_trace_id": rec.parent_trace_id,
            }
            self.pending.append((stats, tid, True))
        else:
            self.pending.append((stats, "", True))  # repeated within this batch: already present
        self.trace_sources.append({"trace_id": tid, "source": self.source, "source_id": sid,
                                   "file": row.file, "line": row.line})

    def flush(self, before_commit=None):
        """Write the batch in one transaction; `before_commit()` runs inside it (callers that must commit
        their own rows atomically with these, e.g. the generation journal)."""
        if not len(self) and before_commit is None:
            return
        con = self.cat.con
        new_ids: set[str] = set()
        tables = {
            "_in_problems": list(self.problems.values()), "_in_problem_sources": self.problem_sources,
            "_in_traces": list(self.traces.values()), "_in_trace_sources": self.trace_sources,
            "_in_quarantine": self.quarantine,
        }
        con.execute("BEGIN")
        try:
            for name, rows in tables.items():
                con.register(name, _arrow(name, rows))
            new_ids |= {r[0] for r in self.cat.sql("ingest/new_ids").fetchall()}
            for q in ("ingest/problems", "ingest/problem_sources", "ingest/traces",
                      "ingest/trace_sources", "ingest/quarantine"):
                self.cat.run(q, {"job_id": self.job_id})
            if before_commit is not None:
                before_commit()
            con.execute("COMMIT").fetchall()
        except Exception:
            con.execute("ROLLBACK")
            raise
        finally:
            for name in tables:
                con.unregister(name)
        for stats, rid, _ in self.pending:
            if rid and rid in new_ids:
                stats.records_new += 1
                new_ids.discard(rid)  # a problem repeated in one batch is new once
            else:
                stats.records_present += 1
        self.clear()


_SCHEMAS = {
    "_in_problems": pa.schema([("problem_id", pa.string()), ("problem", pa.string()), ("answer", pa.string()),
                               ("reference_solution", pa.string()), ("first_source", pa.string()),
                               ("seq", pa.int64()), ("metadata", pa.string())]),
    "_in_problem_sources": pa.schema([("problem_id", pa.string()), ("source", pa.string()),
                                      ("source_id", pa.string()), ("file", pa.string()), ("line", pa.int64()),
                                      ("answer", pa.string())]),
    "_in_traces": pa.schema([("trace_id", pa.string()), ("problem_id", pa.string()), ("thought", pa.string()),
                             ("solution", pa.string()), ("thought_closed", pa.bool_()),
                             ("finish_reason", pa.string()), ("model", pa.string()), ("label_correct", pa.bool_()),
                             ("source", pa.string()), ("source_id", pa.string()), ("file", pa.string()),
                             ("line", pa.int64()), ("seq", pa.int64()), ("metadata", pa.string()),
                             ("parent_trace_id", pa.string())]),
    "_in_trace_sources": pa.schema([("trace_id", pa.string()), ("source", pa.string()), ("source_id", pa.string()),
                                    ("file", pa.string()), ("line", pa.int64())]),
    "_in_quarantine": pa.schema([("source", pa.string()), ("file", pa.string()), ("line", pa.int64()),
                                 ("reason", pa.string()), ("raw", pa.string())]),
}


def record_ids(texts: list[tuple[str, str | None, str | None, bool]]) -> list[tuple[str, str | None]]:
    """(problem_id, trace_id or None) of (problem, thought, solution, is_trace) tuples: normalizing and
    hashing long texts is ingest's largest cost, so chunks of it run in worker processes."""
    out = []
    for problem, thought, solution, is_trace in texts:
        pid = problem_id(problem)
        out.append((pid, trace_id(pid, thought, solution) if is_trace else None))
    return out


def _id_texts(items: list[tuple]) -> list[tuple[str, str | None, str | None, bool]]:
    return [(r.problem, r.thought, r.solution, r.is_trace) for _, _, r, _ in items]


def _add_all(batch: _Batch, items: list[tuple], ids: list[tuple[str, str | None]], before_commit=None) -> None:
    for (stats, row, rec, sid), i in zip(items, ids):
        batch.add(stats, row, rec, sid, i)
    batch.flush(before_commit=before_commit)


class _IdPipeline:
    """Stages records in chunks of BATCH, computes their ids in a process pool (started only when an input
    fills a chunk) while the next chunk is read, and hands each chunk to the batch in input order."""

    def __init__(self, batch: _Batch):
        from ..executor import default_workers

        self.batch, self.staged, self.pending, self.pool = batch, [], [], None
        self.workers = default_workers()

    def add(self, stats: FileStats, row: Row, rec: Record, sid: str) -> None:
        self.staged.append((stats, row, rec, sid))
        if len(self.staged) >= BATCH:
            self._submit()
            while len(self.pending) > self.workers:
                self._finish_one()

    def _submit(self) -> None:
        from concurrent.futures import ProcessPoolExecutor

        if self.pool is None:
            self.pool = ProcessPoolExecutor(max_workers=self.workers)
        self.pending.append((self.pool.submit(record_ids, _id_texts(self.staged)), self.staged))
        self.staged = []

    def _finish_one(self) -> None:
        fut, items = self.pending.pop(0)
        _add_all(self.batch, items, fut.result())

    def drain(self) -> None:
        """Everything staged so far goes into the batch and is flushed (end of a file): the last, partial
        chunk in this process."""
        while self.pending:
            self._finish_one()
        _add_all(self.batch, self.staged, record_ids(_id_texts(self.staged)))
        self.staged = []

    def close(self) -> None:
        if self.pool is not None:
            self.pool.shutdown(cancel_futures=True)


def _arrow(name: str, rows: list[dict]) -> pa.Table:
    schema = _SCHEMAS[name]
    return pa.table({f.name: pa.array([r.get(f.name) for r in rows], f.type) for f in schema}, schema=schema)


def _json(d: dict) -> str | None:
    return orjson.dumps(d, default=str).decode() if d else None


def add_records(cat: Catalog, job_id: str, source: str, items: list[tuple[Row, Record, str]],
                before_commit=None) -> dict[str, int]:
    """Store records that did not come from a file (generated traces) exactly as ingestion does.

    `items` are (Row giving file/line provenance, Record, source_id). Everything, plus whatever
    `before_commit()` writes, is committed in one transaction. Returns {'new': n, 'present': n}."""
    stats = FileStats(source)
    staged = [(stats, row, rec, sid) for row, rec, sid in items]
    _add_all(_Batch(cat, source, job_id, cat.scalar("ingest/max_seq") or 0), staged, record_ids(_id_texts(staged)),
             before_commit)
    return {"new": stats.records_new, "present": stats.records_present}


def validate_inputs(inputs: list[str], source: str, fmt: str) -> None:
    """Fail before anything is written when the arguments are wrong."""
    if fmt not in FORMATS:
        raise DistillateError(f"unknown format {fmt!r}; choose one of: {', '.join(FORMATS)}")
    if not source or not source.strip():
        raise DistillateError("--source needs a name")
    if not inputs:
        raise DistillateError("nothing to ingest: give at least one file or hf: dataset")
    for p in inputs:
        if not p.startswith("hf:") and not Path(p).is_file():
            raise DistillateError(f"no such file: {p}" if not Path(p).is_dir() else
                                  f"{p} is a directory: pass its files (e.g. {p}/*.jsonl)")


def ingest(cat: Catalog, job_id: str, inputs: list[str], source: str, fmt: str = "auto",
           license: str | None = None, description: str | None = None, show_progress: bool = True) -> IngestStats:
    """Ingest files / HF datasets into the catalog under one source name."""
    validate_inputs(inputs, source, fmt)
    stats = IngestStats(source)
    seq = cat.scalar("ingest/max_seq") or 0
    batch = _Batch(cat, source, job_id, seq)
    ids = _IdPipeline(batch)
    any_trace = False
    with progress(disable=not show_progress) as bar, _closing(ids):
        for path in inputs:
            fs = FileStats(path)
            stats.files.append(fs)
            task = bar.add_task(f"ingest {os.path.basename(path)}", total=None, info="")
            base = os.path.basename(path)
            for row in iter_rows(path):
                fs.rows_read += 1
                if row.error is None:
                    try:
                        used, records = parse_row(row.value, fmt)
                    except RecordError as e:
                        row.error = str(e)
                        row.raw = orjson.dumps(row.value, default=str)[:2000].decode("utf-8", "replace")
                    else:
                        fs.formats[used] = fs.formats.get(used, 0) + 1
                        sid = source_id_of(row.value) or f"{base}:{row.line}"
                        for rec in records:
                            any_trace |= rec.is_trace
                            ids.add(fs, row, rec, sid + rec.source_id_suffix)
                if row.error is not None:
                    fs.quarantined += 1
                    batch.quarantine.append({"source": source, "file": row.file, "line": row.line,
                                             "reason": row.error, "raw": row.raw})
                    if len(batch.quarantine) >= BATCH:
                        batch.flush()
                if fs.rows_read % 500 == 0:
                    bar.update(task, completed=fs.rows_read, info=f"{fs.quarantined} quarantined")
            ids.drain()
            bar.update(task, completed=fs.rows_read, total=fs.rows_read, info=f"{fs.quarantined} quarantined")
            cat.run("ingest/source_file_add", {"source": source, "file": path, "format": fmt, "rows_read": fs.rows_read,
                                        "records_new": fs.records_new, "records_present": fs.records_present,
                                        "quarantined": fs.quarantined, "job_id": job_id})
    cat.run("ingest/upsert_source", {"source": source, "kind": "traces" if any_trace else "problems",
                              "license": license, "description": description})
    log.debug("ingested %s", stats.as_dict())
    return stats
