"""A large realistic corpus of long-thought traces with planted duplicates and known ground truth.

Built from the real traces in ../shared/data/traces: every "original" trace recombines paragraphs of real
thoughts (numbers re-drawn, so originals differ from each other) under a real problem. Then it plants:

- exact copies: the original with case / whitespace / LaTeX spacing changed (equal after normalization);
- near copies: scattered word edits tuned so the word 5-gram Jaccard to the original is about 0.8-0.98
  (those below 0.85 are the hard negatives of a 0.85 threshold);
- heavy rewrites: many edits and reordered paragraphs, Jaccard <= 0.6 (must never be merged);
- sibling traces: several originals per problem (same problem, different texts: not duplicates);
- contaminated problems: some problems are benchmark problems (verbatim or lightly reformatted).

Solutions end with `\\boxed{answer}` by default; `answers="mixed"` states half of them otherwise (ANSWER_STYLES:
"Answer: X", bold, prose, display math, Spanish, Chinese, German), drawn from a separate random stream so the
rest of the corpus is the same; `answer_style(solution)` tells which.

Every planted item's measured Jaccard (word 5-grams of lower-cased, whitespace-split text, computed here
with Python sets, independent of the dedup code) is in the ground-truth file. Reused by the signals,
decontam and scale-out benchmarks:

    from bench.corpus import generate
    truth = generate(n=20000, out=Path("corpus.jsonl"), seed=0)

    python bench/corpus.py --n 20000 --out /tmp/corpus.jsonl --seed 0   # also writes corpus.truth.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
if not (DATA / "MANIFEST.md").exists():
    DATA = Path("/work/shared/data")

_NUM = re.compile(r"\d+")


def shingles(text: str, n: int = 5) -> set[tuple[str, ...]]:
    """Word n-grams of the lower-cased, whitespace-split text (the ground truth's definition)."""
    w = text.lower().split()
    if len(w) < n:
        return {tuple(w)} if w else set()
    return {tuple(w[i: i + n]) for i in range(len(w) - n + 1)}


def jaccard_text(a: str, b: str, n: int = 5) -> float:
    sa, sb = shingles(a, n), shingles(b, n)
    return len(sa & sb) / len(sa | sb) if sa or sb else 1.0


@dataclass
class Pools:
    paragraphs: list[str]
    problems: list[dict]       # id, problem, answer from the real traces
    benchmarks: list[dict]     # benchmark, id, problem, answer


def load_pools(data: Path = DATA) -> Pools:
    paras, probs, seen = [], [], set()
    for f in sorted((data / "traces").glob("*.jsonl")):
        for line in f.open(encoding="utf-8"):
            d = json.loads(line)
            for p in (d.get("thought") or "").split("\n\n"):
                if len(p) > 40:
                    paras.append(p.strip())
            if d.get("problem") and d["problem"] not in seen:
                seen.add(d["problem"])
                probs.append({"id": d.get("id"), "problem": d["problem"], "answer": d.get("answer")})
    bench = []
    for name in ("aime24", "aime25", "amc23", "math500"):
        for line in (data / "benchmarks" / f"{name}.jsonl").open(encoding="utf-8"):
            d = json.loads(line)
            bench.append({"benchmark": name, "id": d["id"], "problem": d["problem"], "answer": d["answer"]})
    return Pools(paras, probs, bench)


def _redraw_numbers(text: str, rng: random.Random) -> str:
    return _NUM.sub(lambda m: str(rng.randint(0, 10 ** len(m.group()))) if rng.random() < 0.5 else m.group(), text)


def _original(pools: Pools, rng: random.Random, chars: int) -> str:
    out, size = [], 0
    target = max(500, int(rng.lognormvariate(0, 0.5) * chars))
    while size < target:
        p = _redraw_numbers(rng.choice(pools.paragraphs), rng)
        out.append(p)
        size += len(p) + 2
    return "\n\n".join(out)


# how a solution states its final answer; "mixed" draws boxed half of the time, the others evenly
ANSWER_STYLES = {
    "boxed": "The answer is $\\boxed{{{a}}}$.",
    "answer_colon": "Checking every case gives the same result.\n\nAnswer: {a}",
    "bold": "So the final answer is **{a}**.",
    "prose": "Putting everything together, the final answer is {a}.",
    "display": "Therefore the required value is\n$$ {a} $$",
    "spanish": "Por lo tanto, la respuesta es ${a}$.",
    "chinese": "因此，答案是 ${a}$。",
    "german": "Also ist die Antwort ${a}$.",
}
_STYLE_OF = [(k, re.compile(re.escape(v.format(a="\0").split("\0")[0]))) for k, v in ANSWER_STYLES.items()]


def answer_style(solution: str) -> str | None:
    """The ANSWER_STYLES key a generated solution was written with."""
    return next((k for k, rx in _STYLE_OF if rx.search(solution or "")), None)


def _solution(answer, style_rng: random.Random | None) -> str:
    if style_rng is None or style_rng.random() < 0.5:
        style = "boxed"
    else:
        style = style_rng.choice([k for k in ANSWER_STYLES if k != "boxed"])
    return ANSWER_STYLES[style].format(a=answer)


_UPPER = str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_FILLERS = ("so", "then", "wait,", "hmm,", "now", "thus", "okay,", "therefore", "indeed", "actually")


def _edit_words(text: str, k: int, rng: random.Random) -> str:
    """k scattered single-word edits (substitute, insert or delete), keeping line structure."""
    words = text.split(" ")
    for _ in range(k):
        i = rng.randrange(len(words))
        op = rng.random()
        if op < 0.5:
            words[i] = rng.choice(_FILLERS) + str(rng.randint(0, 99))
        elif op < 0.8:
            words.insert(i, rng.choice(_FILLERS))
        elif len(words) > 10:
            del words[i]
    return " ".join(words)


def _near_copy(text: str, target_j: float, rng: random.Random) -> tuple[str, float]:
    """Edits tuned to reach about target_j; returns the copy and its measured Jaccard."""
    s = len(shingles(text))
    k = max(1, round(s * (1 - target_j) / (5 * (1 + target_j))))
    copy = _edit_words(text, k, rng)
    return copy, jaccard_text(text, copy)


def _exact_copy(text: str, rng: random.Random) -> str:
    t = text.translate(_UPPER) if rng.random() < 0.3 else text
    t = t.replace(" ", "  ", 3).replace("\n\n", "\n \n")
    return t.replace("\\frac", "\\,\\frac") if rng.random() < 0.5 else t


def _rewrite(text: str, rng: random.Random) -> tuple[str, float]:
    paras = text.split("\n\n")
    rng.shuffle(paras)
    t = "\n\n".join(paras)
    target = rng.uniform(0.25, 0.55)
    s = len(shingles(text))
    t = _edit_words(t, max(1, round(s * (1 - target) / (5 * (1 + target)))), rng)
    j = jaccard_text(text, t)
    while j > 0.6:  # paragraph order alone may keep most shingles: edit until clearly a rewrite
        t = _edit_words(t, max(1, s // 20), rng)
        j = jaccard_text(text, t)
    return t, j


def _reformat_problem(p: str, rng: random.Random) -> str:
    t = " ".join(p.split())
    return t.replace("$", " $ ", 2) if rng.random() < 0.5 else t.lower()


def generate(n: int, out: Path, seed: int = 0, chars: int = 20000, p_exact: float = 0.03,
             p_near: float = 0.10, p_rewrite: float = 0.03, p_contam: float = 0.01,
             traces_per_problem: float = 1.5, data: Path = DATA, show_progress: bool = True,
             answers: str = "boxed") -> list[dict]:
    """Write n traces as JSONL to `out` and the ground truth to `<out stem>.truth.jsonl`; returns the truth.
    answers: "boxed" (every solution boxes its answer) or "mixed" (see ANSWER_STYLES).

    Truth rows: {"kind": exact|near|rewrite|sibling|contam, "id", "of" (original trace id or benchmark id),
    "jaccard" (word 5-gram, measured), "benchmark" (contam only)}."""
    if answers not in ("boxed", "mixed"):
        raise ValueError(f"answers must be boxed or mixed, not {answers!r}")
    rng = random.Random(seed)
    style_rng = random.Random(seed + 7919) if answers == "mixed" else None
    pools = load_pools(data)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    truth: list[dict] = []
    rows: list[dict | None] = [None] * n
    originals: list[int] = []
    problems: list[dict] = []
    i = 0
    from rich.progress import Progress

    with Progress(disable=not show_progress, transient=True) as bar:
        task = bar.add_task("corpus", total=n)
        while i < n:
            r = rng.random()
            if originals and r < p_exact + p_near + p_rewrite:
                o = rows[rng.choice(originals)]
                if r < p_exact:
                    kind, thought, j = "exact", _exact_copy(o["thought"], rng), 1.0
                elif r < p_exact + p_near:
                    kind = "near"
                    thought, j = _near_copy(o["thought"], rng.uniform(0.78, 0.98), rng)
                else:
                    kind = "rewrite"
                    thought, j = _rewrite(o["thought"], rng)
                rows[i] = {**o, "id": f"syn-{i}", "thought": thought, "model": f"teacher-{kind}"}
                truth.append({"kind": kind, "id": f"syn-{i}", "of": o["id"], "jaccard": round(j, 6)})
            else:
                if problems and rng.random() < 1 - 1 / traces_per_problem:
                    prob = rng.choice(problems)
                    sib = True
                else:
                    sib = False
                    if rng.random() < p_contam:
                        b = rng.choice(pools.benchmarks)
                        text = b["problem"] if rng.random() < 0.5 else _reformat_problem(b["problem"], rng)
                        prob = {"problem": text, "answer": b["answer"], "benchmark": b["benchmark"], "bid": b["id"]}
                    else:
                        base = rng.choice(pools.problems)
                        # distinct problems: numbers re-drawn, plus a tag (the real pool has only ~300)
                        prob = {"problem": _redraw_numbers(base["problem"], rng) + f" (variant {len(problems)})",
                                "answer": base["answer"]}
                    problems.append(prob)
                thought = _original(pools, rng, chars)
                rows[i] = {"id": f"syn-{i}", "problem": prob["problem"], "thought": thought,
                           "solution": _solution(prob["answer"], style_rng), "answer": prob["answer"],
                           "model": "teacher"}
                originals.append(i)
                if sib:
                    truth.append({"kind": "sibling", "id": f"syn-{i}", "of": None, "jaccard": None})
                if "benchmark" in prob and not sib:
                    truth.append({"kind": "contam", "id": f"syn-{i}", "of": prob["bid"], "jaccard": None,
                                  "benchmark": prob["benchmark"]})
            i += 1
            bar.update(task, advance=1)
    with out.open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    with truth_path(out).open("w", encoding="utf-8") as f:
        for t in truth:
            f.write(json.dumps(t) + "\n")
    return truth


def truth_path(out: Path) -> Path:
    out = Path(out)
    return out.with_name(out.stem + ".truth.jsonl")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int, default=20000, help="number of traces")
    ap.add_argument("--out", type=Path, required=True, help="output JSONL (truth next to it)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--chars", type=int, default=20000, help="median thought length in characters")
    ap.add_argument("--answers", choices=("boxed", "mixed"), default="boxed", help="how solutions state the answer")
    a = ap.parse_args(argv)
    truth = generate(a.n, a.out, a.seed, a.chars, answers=a.answers)
    kinds: dict[str, int] = {}
    for t in truth:
        kinds[t["kind"]] = kinds.get(t["kind"], 0) + 1
    print(f"wrote {a.n} traces to {a.out}, truth to {truth_path(a.out)}: {kinds}", file=sys.stderr)


if __name__ == "__main__":
    main()
