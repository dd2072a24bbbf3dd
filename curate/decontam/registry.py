"""Benchmarks to decontaminate against (and to evaluate on): built-in names and local JSONL files.

Resolution (`load_benchmarks(names, benchmarks_dir)`):
- neither given          -> every built-in benchmark (from the Hugging Face Hub, extra `hf`, or a JSONL file
                            at a pinned commit of an evaluation repo: college_math);
- only `benchmarks_dir`  -> exactly that folder's `*.jsonl` files; a benchmark's name is the file's stem;
- only `names`           -> those built-ins;
- both                   -> each name resolves to `<dir>/<name>.jsonl` first, then to the built-in.
Local files hold one JSON object per line with `problem` (required), `id` and `answer` (optional: a
missing id becomes `<name>-<line>`). A malformed line is an error naming the file and line: a benchmark
that loads partially would silently weaken decontamination.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import orjson

from distillate.errors import DistillateError, require
from distillate.log import log


@dataclass(frozen=True, slots=True)
class BenchmarkItem:
    benchmark: str
    id: str
    problem: str
    answer: str | None


@dataclass(frozen=True)
class BuiltinBenchmark:
    """Where a built-in benchmark lives on the Hugging Face Hub and how its rows map to items."""

    hf_id: str                       # dataset repository
    revision: str                    # the commit loaded; the content fingerprint is recorded per scan too
    split: str
    problem_field: str
    answer_field: str | None
    id_field: str | None = None      # None: the row index
    configs: tuple[str | None, ...] = (None,)   # several configs are concatenated (in this order)
    answer_from: str = "field"       # field | after_hashes (GSM8K "... #### 42") | last_boxed | join_list
    note: str = ""
    url: str | None = None           # a JSONL file at a pinned commit ({revision} filled in), read instead of
                                     # the Hub: benchmarks that live in an evaluation repo, not a dataset


# Revisions: the commit of each dataset repository that public evaluation code pins (HF `resolve/<sha>/`
# URLs and hub-cache snapshot paths; found from this offline machine, so not loaded here: see docs/decontam.md).
BUILTINS: dict[str, BuiltinBenchmark] = {
    "aime24": BuiltinBenchmark("HuggingFaceH4/aime_2024", "2fe88a2f1091d5048c0f36abc874fb997b3dd99a",
                               "train", "problem", "answer", "id"),
    "aime25": BuiltinBenchmark("MathArena/aime_2025", "c94da77eb22bbd6439e62a323bec18493a421302",
                               "train", "problem", "answer", "problem_idx"),
    "amc23": BuiltinBenchmark("math-ai/amc23", "80815d37005feb82cd7f8fbc6901d5d3eff43057",
                              "test", "question", "answer", "id"),
    "math500": BuiltinBenchmark("HuggingFaceH4/MATH-500", "6e4ed1a2a79af7d8630a6b768ec859cb5af4d3be",
                                "test", "problem", "answer", "unique_id"),
    "gsm8k": BuiltinBenchmark("openai/gsm8k", "740312add88f781978c0658806c59bc2815b9866",
                              "test", "question", "answer", None, ("main",), answer_from="after_hashes"),
    "olympiadbench": BuiltinBenchmark("Hothan/OlympiadBench", "91184b52131e7fc9455fef848035173aea8cc01a",
                                      "train", "question", "final_answer", "id", ("OE_TO_maths_en_COMP",),
                                      answer_from="join_list"),
    "minerva_math": BuiltinBenchmark("math-ai/minervamath", "ee46ddc498933b1977577953250ca5c66be64f96",
                                     "test", "question", "answer"),
    "math": BuiltinBenchmark("EleutherAI/hendrycks_math", "21a5633873b6a120296cce3e2df9d5550074f4a3",
                             "test", "problem", "solution", None,
                             ("algebra", "counting_and_probability", "geometry", "intermediate_algebra",
                              "number_theory", "prealgebra", "precalculus"), answer_from="last_boxed",
                             note="full MATH test set (5000)"),
    "college_math": BuiltinBenchmark("QwenLM/Qwen2.5-Math", "a45202bd16f1ec06f433442dc1152d0074773465",
                                     "test", "question", "answer",
                                     url="https://raw.githubusercontent.com/QwenLM/Qwen2.5-Math/{revision}/"
                                         "evaluation/data/college_math/test.jsonl",
                                     note="MathScale's college math test set (2818) as Qwen2.5-Math evaluates it"),
    "gpqa_diamond": BuiltinBenchmark("Idavidrein/gpqa", "633f5ee89ab8ad4522a9f850766b73f62147ffdd",
                                     "train", "Question", "Correct Answer", "Record ID", ("gpqa_diamond",),
                                     note="gated: needs a Hugging Face token"),
}


def known_names() -> list[str]:
    return sorted(BUILTINS)


def _last_boxed(text: str | None) -> str | None:
    if not text:
        return None
    i = text.rfind("\\boxed")
    if i < 0:
        return None
    j = text.find("{", i)
    if j < 0:
        return None
    depth = 0
    for k in range(j, len(text)):
        depth += {"{": 1, "}": -1}.get(text[k], 0)
        if depth == 0:
            return text[j + 1:k]
    return None


_ANSWER: dict[str, Callable[[Any], str | None]] = {
    "field": lambda v: None if v is None else str(v),
    "after_hashes": lambda v: None if v is None else str(v).rsplit("####", 1)[-1].strip(),
    "last_boxed": lambda v: _last_boxed(v),
    "join_list": lambda v: None if v is None else (", ".join(map(str, v)) if isinstance(v, list) else str(v)),
}


def _unreachable(name: str, where: str, e: Exception) -> DistillateError:
    return DistillateError(
        f"could not load built-in benchmark {name!r} from {where}: {type(e).__name__}: "
        f"{str(e).splitlines()[0] if str(e) else ''}. Offline? Pass --benchmarks-dir DIR with a {name}.jsonl "
        "file (id, problem, answer)")


def _url_rows(name: str, spec: BuiltinBenchmark) -> list[dict]:
    """The rows of a pinned-commit JSONL file, downloaded once into the cache ($DISTILLATE_CACHE, else
    ~/.cache/distillate): the commit pins the content, so the cached copy never goes stale."""
    import os
    import urllib.request

    url = spec.url.format(revision=spec.revision)
    cache = Path(os.environ.get("DISTILLATE_CACHE") or Path.home() / ".cache" / "distillate") / "benchmarks"
    local = cache / f"{name}-{hashlib.sha256(url.encode()).hexdigest()[:16]}.jsonl"
    if not local.exists():
        try:
            with urllib.request.urlopen(url, timeout=60) as r:
                data = r.read()
        except Exception as e:  # noqa: BLE001 - offline, moved, refused: one clear message
            raise _unreachable(name, url, e) from e
        cache.mkdir(parents=True, exist_ok=True)
        tmp = local.with_suffix(".tmp")
        tmp.write_bytes(data)
        tmp.replace(local)
    rows = []
    for lineno, line in enumerate(local.read_bytes().splitlines(), 1):
        if line.strip():
            try:
                rows.append(orjson.loads(line))
            except orjson.JSONDecodeError as e:
                raise DistillateError(f"built-in benchmark {name}: {url} line {lineno} is not JSON ({e}); "
                                      f"cached copy: {local}") from e
    return rows


def load_builtin(name: str) -> list[BenchmarkItem]:
    spec = BUILTINS[name]
    items: list[BenchmarkItem] = []
    for config in spec.configs:
        if spec.url:
            ds = _url_rows(name, spec)
        else:
            datasets = require("datasets", "hf")
            try:
                ds = datasets.load_dataset(spec.hf_id, config, split=spec.split, revision=spec.revision)
            except Exception as e:  # offline, gated, renamed: all end the same way for the user
                raise _unreachable(name, f"the Hugging Face Hub ({spec.hf_id}{'/' + config if config else ''}"
                                         f"@{spec.revision})", e) from e
        for k, row in enumerate(ds):
            bid = row.get(spec.id_field) if spec.id_field else None
            bid = str(bid) if bid is not None else f"{name}-{config + '-' if config else ''}{k}"
            items.append(BenchmarkItem(name, bid, str(row[spec.problem_field]),
                                       _ANSWER[spec.answer_from](row.get(spec.answer_field))))
    log.info("benchmark %s: %d items from %s", name, len(items), _origin(spec))
    return items


def load_file(path: str | Path, name: str | None = None) -> list[BenchmarkItem]:
    path = Path(path)
    name = name or path.name.removesuffix(".jsonl")
    items: list[BenchmarkItem] = []
    seen: set[str] = set()
    try:
        f = path.open("rb")
    except OSError as e:
        raise DistillateError(f"cannot read benchmark file {path}: {e}") from e
    with f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                row = orjson.loads(line)
            except orjson.JSONDecodeError as e:
                raise DistillateError(f"{path}:{lineno}: not valid JSON ({e})") from e
            if not isinstance(row, dict) or not isinstance(row.get("problem"), str) or not row["problem"].strip():
                raise DistillateError(f"{path}:{lineno}: a benchmark row needs a non-empty 'problem' string")
            bid = row.get("id")
            bid = f"{name}-{lineno}" if bid is None else str(bid)
            if bid in seen:
                raise DistillateError(f"{path}:{lineno}: duplicate id {bid!r} in benchmark {name}")
            seen.add(bid)
            ans = row.get("answer")
            items.append(BenchmarkItem(name, bid, row["problem"], None if ans is None else str(ans)))
    if not items:
        raise DistillateError(f"benchmark file {path} has no rows")
    return items


_NAME = re.compile(r"^[A-Za-z0-9_.\-]+$")


def resolve(names: list[str] | None, benchmarks_dir: str | Path | None) -> dict[str, str]:
    """benchmark name -> where it comes from: a file path or 'builtin'."""
    files: dict[str, Path] = {}
    if benchmarks_dir is not None:
        d = Path(benchmarks_dir)
        if not d.is_dir():
            raise DistillateError(f"--benchmarks-dir {d} is not a directory")
        files = {p.name.removesuffix(".jsonl"): p for p in sorted(d.glob("*.jsonl"))}
        if not files and not names:
            raise DistillateError(f"--benchmarks-dir {d} holds no *.jsonl files")
    if not names:
        return {n: str(p) for n, p in files.items()} if benchmarks_dir is not None \
            else {n: "builtin" for n in known_names()}
    out: dict[str, str] = {}
    for n in names:
        if not _NAME.match(n):
            raise DistillateError(f"invalid benchmark name {n!r}")
        if n in files:
            out[n] = str(files[n])
        elif n in BUILTINS:
            out[n] = "builtin"
        else:
            where = f"; files in {benchmarks_dir}: {', '.join(files) or 'none'}" if benchmarks_dir else ""
            raise DistillateError(f"unknown benchmark {n!r}; built-in benchmarks: {', '.join(known_names())}{where}")
    return out


def parse_names(spec: str | list[str] | None) -> list[str] | None:
    if spec is None:
        return None
    names = spec if isinstance(spec, list) else spec.split(",")
    names = [n.strip() for n in names if n and n.strip()]
    return list(dict.fromkeys(names)) or None


def load_benchmarks(names: list[str] | None, benchmarks_dir: str | None) -> dict[str, list[BenchmarkItem]]:
    """Load benchmarks by the resolution rules above: {name: items}."""
    out: dict[str, list[BenchmarkItem]] = {}
    for name, origin in resolve(parse_names(names), benchmarks_dir).items():
        out[name] = load_builtin(name) if origin == "builtin" else load_file(origin, name)
    return out


def origins(names: list[str] | None, benchmarks_dir: str | None) -> dict[str, str]:
    """name -> 'hf:<id>@<revision>', the pinned URL, or the file path (recorded with every scan)."""
    res = resolve(parse_names(names), benchmarks_dir)
    return {n: (_origin(BUILTINS[n]) if o == "builtin" else o) for n, o in res.items()}


def _origin(spec: BuiltinBenchmark) -> str:
    return spec.url.format(revision=spec.revision) if spec.url else f"hf:{spec.hf_id}@{spec.revision}"


def fingerprint(items: list[BenchmarkItem]) -> str:
    """Content hash of a benchmark: a changed file is rescanned, an unchanged one never."""
    h = hashlib.blake2b(digest_size=12)
    for it in sorted(items, key=lambda x: x.id):
        h.update(orjson.dumps([it.id, it.problem]))
    return h.hexdigest()
