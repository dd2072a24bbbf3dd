"""Turn one input row (a dict) into trace/problem records, whatever public format it is in.

Formats (auto-detected per row; `--format` forces one):
- plain:     problem/question/prompt + thought/reasoning/reasoning_content/thinking
             + solution/response/attempt/output (+ answer). A response holding <think> tags is split.
- chat:      `messages` [{role, content}], the assistant turn with <think>...</think> or a separate
             `reasoning_content`.
- sharegpt:  `conversations` [{from, value}], thought in <|begin_of_thought|>..<|end_of_thought|> and
             solution in <|begin_of_solution|>..<|end_of_solution|> (Sky-T1, Bespoke-Stratos, OpenThoughts).
- openr1:    OpenR1-Math rows: `generations` list (+ `correctness_math_verify`, `finish_reasons`...)
             -> one trace per generation.
- samples:   rows with `samples` [{generation, answer_is_correct, ...}] -> one trace per sample.
- s1k:       s1K rows: `thinking_trajectories` + `attempt`; s1K-1.1 `gemini_*`/`deepseek_*` pairs
             -> one trace per teacher.
- problems:  problem-only rows (benchmarks, problem sets): `solution` is kept as the reference solution.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

FORMATS = ("auto", "plain", "chat", "sharegpt", "openr1", "samples", "s1k", "problems")

PROBLEM_KEYS = ("problem", "question", "prompt", "instruction", "query")
THOUGHT_KEYS = ("thought", "reasoning", "reasoning_content", "thinking", "thinking_trajectory", "think")
SOLUTION_KEYS = ("solution", "response", "attempt", "output", "completion", "generation", "answer_text")
ANSWER_KEYS = ("answer", "gold", "ground_truth", "reference_answer", "expected_answer", "final_answer", "gt_answer")
ID_KEYS = ("id", "uuid", "idx", "index", "unique_id", "problem_id", "source_id", "qid")
LABEL_KEYS = ("answer_is_correct", "is_correct", "correct", "correctness")
MODEL_KEYS = ("model", "teacher", "generator", "model_name")
REF_SOLUTION_KEYS = ("reference_solution", "ref_solution")


class RecordError(ValueError):
    """This row cannot be read: it goes to quarantine with this reason."""


@dataclass
class Record:
    problem: str
    answer: str | None = None
    thought: str | None = None
    solution: str | None = None
    thought_closed: bool | None = None
    finish_reason: str | None = None
    model: str | None = None
    label_correct: bool | None = None
    reference_solution: str | None = None
    source_id_suffix: str = ""          # '#g1' for the second generation of a row, etc.
    is_trace: bool = True
    metadata: dict[str, Any] = field(default_factory=dict)
    parent_trace_id: str | None = None  # reformatted traces (curate/generate): the original


# ---- response splitting (shared with generation) -------------------------------------------------

_TAG_PAIRS = (
    ("<|begin_of_thought|>", "<|end_of_thought|>"),
    ("<think>", "</think>"),
    ("<thinking>", "</thinking>"),
)
_SOL_OPEN, _SOL_CLOSE = "<|begin_of_solution|>", "<|end_of_solution|>"


def split_response(text: str) -> tuple[str | None, str | None, bool | None]:
    """Split a model response into (thought, solution, thought_closed).

    An opening thought tag without its closing tag means the generation stopped inside the thought:
    the solution is None and thought_closed is False. A closing tag without an opening one (templates
    that put <think> in the prompt) still splits. No tags: (None, text, None)."""
    for open_t, close_t in _TAG_PAIRS:
        o, c = text.find(open_t), text.find(close_t)
        if o == -1 and c == -1:
            continue
        if c == -1:  # opened, never closed
            return text[o + len(open_t):].strip("\n"), None, False
        start = o + len(open_t) if 0 <= o < c else 0
        thought = text[start:c].strip()
        rest = text[c + len(close_t):]
        return thought, _strip_solution_tags(rest), True
    return None, _strip_solution_tags(text), None


def _strip_solution_tags(s: str) -> str | None:
    o = s.find(_SOL_OPEN)
    if o != -1:
        c = s.find(_SOL_CLOSE, o)
        s = s[o + len(_SOL_OPEN): c if c != -1 else None]
    s = s.strip()
    return s or None


# ---- helpers ------------------------------------------------------------------------------------

def _first(row: dict, keys: tuple[str, ...]) -> tuple[str | None, Any]:
    for k in keys:
        if k in row and row[k] is not None:
            return k, row[k]
    return None, None


def _text(row: dict, keys: tuple[str, ...], what: str, required: bool = False) -> str | None:
    k, v = _first(row, keys)
    if v is None:
        if required:
            raise RecordError(f"missing {what} (looked for: {', '.join(keys)})")
        return None
    if isinstance(v, (int, float)) and not isinstance(v, bool) and what == "answer":
        return str(v)
    if not isinstance(v, str):
        raise RecordError(f"wrong type for {what} field '{k}': {type(v).__name__}, expected string")
    if "\x00" in v:
        raise RecordError(f"NUL byte in field '{k}'")
    if required and not v.strip():
        raise RecordError(f"empty {what} field '{k}'")
    return v


def _bool(v: Any) -> bool | None:
    if isinstance(v, bool):
        return v
    if isinstance(v, (int, float)) and v in (0, 1):
        return bool(v)
    if isinstance(v, str) and v.lower() in ("true", "false"):
        return v.lower() == "true"
    return None


def _label(row: dict) -> bool | None:
    _, v = _first(row, LABEL_KEYS)
    return _bool(v)


def _model(row: dict) -> str | None:
    _, v = _first(row, MODEL_KEYS)
    return v if isinstance(v, str) else None


def _answer(row: dict) -> str | None:
    return _text(row, ANSWER_KEYS, "answer")


def _closed_flag(row: dict, closed: bool | None) -> bool | None:
    complete = _bool(row.get("complete")) if "complete" in row else None
    if complete is False and closed is not False:
        # The source says the generation did not finish (Sky-T1 / thought-anchors exports).
        return False
    return closed


def source_id_of(row: dict) -> str | None:
    _, v = _first(row, ID_KEYS)
    if v is None or isinstance(v, (dict, list)):
        return None
    return str(v)


# ---- per-format parsers -------------------------------------------------------------------------

def parse_plain(row: dict) -> list[Record]:
    problem = _text(row, PROBLEM_KEYS, "problem", required=True)
    thought = _text(row, THOUGHT_KEYS, "thought")
    solution = _text(row, SOLUTION_KEYS, "solution")
    closed: bool | None = None
    if thought is None:
        raw = solution if solution is not None else _text(row, ("raw_generation",), "raw_generation")
        if raw is not None:
            thought, solution, closed = split_response(raw)
    else:
        closed = solution is not None or None
    closed = _closed_flag(row, closed if thought is not None else None)
    if thought is not None and closed is None:
        closed = True
    return [Record(
        problem=problem, answer=_answer(row), thought=thought, solution=solution,
        thought_closed=closed, finish_reason=_opt_str(row.get("finish_reason")), model=_model(row),
        label_correct=_label(row), reference_solution=_text(row, REF_SOLUTION_KEYS, "reference solution"),
        is_trace=thought is not None or solution is not None,
    )]


def parse_problems(row: dict) -> list[Record]:
    problem = _text(row, PROBLEM_KEYS, "problem", required=True)
    ref = _text(row, REF_SOLUTION_KEYS + ("solution",), "reference solution")
    return [Record(problem=problem, answer=_answer(row), reference_solution=ref, is_trace=False)]


def _turns(msgs: Any, role_key: str, content_key: str, what: str) -> list[tuple[str, Any, dict]]:
    if not isinstance(msgs, list) or not msgs:
        raise RecordError(f"'{what}' must be a non-empty list")
    out = []
    for m in msgs:
        if not isinstance(m, dict):
            raise RecordError(f"'{what}' holds a {type(m).__name__}, expected objects")
        role = str(m.get(role_key, "")).lower()
        role = {"human": "user", "gpt": "assistant", "model": "assistant"}.get(role, role)
        out.append((role, m.get(content_key), m))
    return out


def _conversation(row: dict, turns: list[tuple[str, Any, dict]]) -> list[Record]:
    users = [i for i, (r, _, _) in enumerate(turns) if r == "user"]
    if not users:
        raise RecordError("no user turn with the problem")
    # the problem is the last user turn that has an assistant turn after it (or the last user turn)
    ui = users[-1]
    for i in reversed(users):
        if any(r == "assistant" for r, _, _ in turns[i + 1:]):
            ui = i
            break
    problem = turns[ui][1]
    if not isinstance(problem, str) or not problem.strip():
        raise RecordError("the user turn has no text")
    if "\x00" in problem:
        raise RecordError("NUL byte in the user turn")
    system = next((c for r, c, _ in turns if r == "system" and isinstance(c, str)), None)
    asst = next(((c, m) for r, c, m in turns[ui + 1:] if r == "assistant"), None)
    meta = {"system": system} if system else {}
    if asst is None:
        return [Record(problem=problem, answer=_answer(row), is_trace=False, metadata=meta)]
    content, msg = asst
    if content is not None and not isinstance(content, str):
        raise RecordError(f"assistant content is a {type(content).__name__}, expected string")
    content = content or ""
    if "\x00" in content:
        raise RecordError("NUL byte in the assistant turn")
    reasoning = msg.get("reasoning_content") or msg.get("reasoning") or msg.get("thinking")
    if isinstance(reasoning, str) and reasoning.strip():
        thought, solution, closed = reasoning, content.strip() or None, bool(content.strip())
    else:
        thought, solution, closed = split_response(content)
    closed = _closed_flag(row, closed)
    return [Record(
        problem=problem, answer=_answer(row), thought=thought, solution=solution, thought_closed=closed,
        finish_reason=_opt_str(row.get("finish_reason")), model=_model(row), label_correct=_label(row),
        metadata=meta,
    )]


def parse_chat(row: dict) -> list[Record]:
    return _conversation(row, _turns(row.get("messages"), "role", "content", "messages"))


def parse_sharegpt(row: dict) -> list[Record]:
    return _conversation(row, _turns(row.get("conversations"), "from", "value", "conversations"))


def _generation_list(row: dict, key: str) -> list:
    gens = row.get(key)
    if not isinstance(gens, list) or not gens:
        raise RecordError(f"'{key}' must be a non-empty list")
    return gens


def parse_openr1(row: dict) -> list[Record]:
    problem = _text(row, PROBLEM_KEYS, "problem", required=True)
    gens = _generation_list(row, "generations")
    correct = row.get("correctness_math_verify") or row.get("correctness_llama") or []
    complete = row.get("is_reasoning_complete") or []
    finish = row.get("finish_reasons") or []
    out = []
    for k, g in enumerate(gens):
        if not isinstance(g, str):
            raise RecordError(f"generation {k} is a {type(g).__name__}, expected string")
        thought, solution, closed = split_response(g)
        if k < len(complete) and _bool(complete[k]) is False:
            closed = False
        out.append(Record(
            problem=problem, answer=_answer(row), thought=thought, solution=solution, thought_closed=closed,
            finish_reason=_opt_str(finish[k]) if k < len(finish) else None, model=_model(row),
            label_correct=_bool(correct[k]) if k < len(correct) else None,
            reference_solution=_text(row, ("solution",) + REF_SOLUTION_KEYS, "reference solution"),
            source_id_suffix=f"#g{k}",
        ))
    return out


def parse_samples(row: dict) -> list[Record]:
    problem = _text(row, PROBLEM_KEYS, "problem", required=True)
    out = []
    for k, s in enumerate(_generation_list(row, "samples")):
        if isinstance(s, str):
            s = {"generation": s}
        if not isinstance(s, dict):
            raise RecordError(f"sample {k} is a {type(s).__name__}")
        text = _text(s, ("generation", "response", "output", "text"), "generation", required=True)
        thought, solution, closed = split_response(text)
        meta = {k2: s[k2] for k2 in ("rm_score", "predicted_answer") if k2 in s}
        out.append(Record(
            problem=problem, answer=_answer(row), thought=thought, solution=solution, thought_closed=closed,
            finish_reason=_opt_str(s.get("finish_reason")), model=_model(s) or _model(row),
            label_correct=_label(s), reference_solution=_text(row, REF_SOLUTION_KEYS, "reference solution"),
            source_id_suffix=f"#s{k}", metadata=meta,
        ))
    return out


def parse_s1k(row: dict) -> list[Record]:
    problem = _text(row, ("question",) + PROBLEM_KEYS, "problem", required=True)
    pairs = []
    if "thinking_trajectories" in row:
        tt = row["thinking_trajectories"]
        thought = "\n".join(tt) if isinstance(tt, list) else tt
        pairs.append(("", thought, row.get("attempt"), None))
    for teacher in ("deepseek", "gemini"):
        if f"{teacher}_thinking_trajectory" in row:
            pairs.append((f"#{teacher}", row[f"{teacher}_thinking_trajectory"], row.get(f"{teacher}_attempt"), teacher))
    if not pairs:
        raise RecordError("s1K row without thinking_trajectories")
    ref = row.get("solution") if isinstance(row.get("solution"), str) else None
    out = []
    for suffix, thought, attempt, teacher in pairs:
        if not isinstance(thought, str) or (attempt is not None and not isinstance(attempt, str)):
            raise RecordError("s1K thinking trajectory / attempt must be strings")
        out.append(Record(
            problem=problem, answer=_answer(row), thought=thought, solution=attempt,
            thought_closed=True, model=teacher or _model(row), reference_solution=ref,
            source_id_suffix=suffix, metadata={k: row[k] for k in ("cot_type", "source_type") if k in row},
        ))
    return out


PARSERS: dict[str, Callable[[dict], list[Record]]] = {
    "plain": parse_plain, "chat": parse_chat, "sharegpt": parse_sharegpt, "openr1": parse_openr1,
    "samples": parse_samples, "s1k": parse_s1k, "problems": parse_problems,
}


def detect_format(row: dict) -> str:
    if "messages" in row:
        return "chat"
    if "conversations" in row:
        return "sharegpt"
    if "generations" in row:
        return "openr1"
    if "samples" in row:
        return "samples"
    if "thinking_trajectories" in row or "gemini_thinking_trajectory" in row or "deepseek_thinking_trajectory" in row:
        return "s1k"
    return "plain"


def parse_row(row: Any, fmt: str = "auto") -> tuple[str, list[Record]]:
    if not isinstance(row, dict):
        raise RecordError(f"not a JSON object but a {type(row).__name__}")
    if fmt == "auto":
        fmt = detect_format(row)
    return fmt, PARSERS[fmt](row)


def _opt_str(v: Any) -> str | None:
    return v if isinstance(v, str) else None

