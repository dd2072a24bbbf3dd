"""Stream rows out of input files: JSONL (also .gz), JSON arrays, Parquet, Hugging Face datasets.

Each reader yields `Row(file, line, value, error)`: `value` is the parsed row, or `error` says why the
line/row could not be read (it goes to quarantine). Files stream: a JSONL file of any size is read line by
line, Parquet batch by batch. JSON arrays are parsed whole (use JSONL for large data)."""

from __future__ import annotations

import gzip
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import orjson

from distillate.errors import DistillateError, require


@dataclass
class Row:
    file: str
    line: int            # 1-based line (JSONL) or row index + 1 (JSON array, Parquet, HF)
    value: Any = None
    error: str | None = None
    raw: str | None = None


def _raw_preview(b: bytes) -> str:
    return b[:2000].decode("utf-8", "replace").replace("\x00", "\\x00")


def read_jsonl(path: Path) -> Iterator[Row]:
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rb") as f:
        for i, raw in enumerate(io.BufferedReader(f, 1 << 20) if opener is open else f, start=1):
            if not raw.strip():
                continue
            if b"\x00" in raw:
                yield Row(str(path), i, error="NUL byte in line", raw=_raw_preview(raw))
                continue
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as e:
                yield Row(str(path), i, error=f"invalid UTF-8 at byte {e.start}", raw=_raw_preview(raw))
                continue
            try:
                yield Row(str(path), i, value=orjson.loads(raw))
            except orjson.JSONDecodeError as e:
                yield Row(str(path), i, error=f"malformed JSON: {e}", raw=_raw_preview(raw))


def read_json_array(path: Path) -> Iterator[Row]:
    data = path.read_bytes()
    try:
        value = orjson.loads(data)
    except orjson.JSONDecodeError as e:
        yield Row(str(path), 1, error=f"malformed JSON: {e}", raw=_raw_preview(data))
        return
    if isinstance(value, dict):
        # a single object, or {"data": [...]}-style wrappers
        lists = [v for v in value.values() if isinstance(v, list) and v and isinstance(v[0], dict)]
        value = lists[0] if len(lists) == 1 and len(value) <= 3 else [value]
    if not isinstance(value, list):
        yield Row(str(path), 1, error=f"JSON file holds a {type(value).__name__}, expected an array of objects")
        return
    for i, v in enumerate(value, start=1):
        yield Row(str(path), i, value=v)


def read_parquet(path: Path, batch_size: int = 2048) -> Iterator[Row]:
    import pyarrow.parquet as pq

    pf = pq.ParquetFile(path)
    i = 0
    for batch in pf.iter_batches(batch_size=batch_size):
        for v in batch.to_pylist():
            i += 1
            yield Row(str(path), i, value=v)


def read_hf(spec: str) -> Iterator[Row]:
    """`hf:org/name[:config][@split]` through `datasets` (a local dataset directory works too)."""
    datasets = require("datasets", "hf")
    body = spec[3:]
    split = "train"
    if "@" in body:
        body, split = body.rsplit("@", 1)
    name, config = body, None
    if ":" in body and not Path(body).exists():
        name, config = body.split(":", 1)
    try:
        ds = datasets.load_dataset(name, config, split=split, streaming=True)
    except Exception as e:  # datasets raises many types; all mean "cannot open this dataset"
        raise DistillateError(f"cannot load Hugging Face dataset {spec!r}: {e}") from e
    for i, v in enumerate(ds, start=1):
        yield Row(spec, i, value=dict(v))


def iter_rows(path_or_id: str) -> Iterator[Row]:
    if path_or_id.startswith("hf:"):
        yield from read_hf(path_or_id)
        return
    path = Path(path_or_id)
    if not path.exists():
        raise DistillateError(f"no such file: {path_or_id}")
    if path.is_dir():
        raise DistillateError(f"{path_or_id} is a directory: pass its files (e.g. {path_or_id}/*.jsonl)")
    name = path.name.lower()
    if name.endswith((".jsonl", ".jsonl.gz", ".ndjson")):
        yield from read_jsonl(path)
    elif name.endswith(".json"):
        # Many ".json" files are JSON Lines; decide from the first non-blank character.
        with open(path, "rb") as f:
            head = f.read(4096).lstrip()
        if head.startswith(b"["):
            yield from read_json_array(path)
        else:
            yield from read_jsonl(path)
    elif name.endswith(".parquet"):
        yield from read_parquet(path)
    else:
        raise DistillateError(
            f"unsupported input {path_or_id}: use .jsonl, .jsonl.gz, .json, .parquet or hf:org/name"
        )
