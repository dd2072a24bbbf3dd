"""Issue 18: answer checks that agree with the major graders' conventions.

The convention cases (tests/data/verify_conventions.jsonl, each with its source) all agree with their labels;
letters are read from prose in several languages and never match a symbol; answers are found after the
answer phrases of other languages; the algebra check accepts equal expressions and rejects different ones
under the hard limit; the options graders disagree on; and letters and free-text extraction reach `eval` and
the curation `verify` stage through the same code."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from distillate.curate.verify import Conventions, extract_answer, verify, verify_batch
from distillate.curate.verify.choice import gold_choice, response_choice
from distillate.errors import DistillateError

CASES = Path(__file__).parent / "data" / "verify_conventions.jsonl"


def _cases() -> list[dict]:
    return [json.loads(line) for line in CASES.open(encoding="utf-8")]


def test_convention_cases_agree_with_their_labels():
    rows = _cases()
    groups: dict[str, set[int]] = {}
    for r in rows:
        assert r["source"].strip() and r["label"] in (0, 1) and r["gold"] and r["pred"]
        groups.setdefault(r["convention"], set()).add(r["label"])
    # every convention the issue names has cases on both sides
    for conv in ("letter", "mixed_number", "digit_grouping", "time", "equation_lhs", "double_escape", "matrix",
                 "multilingual", "algebra", "grader_convention", "option"):
        assert groups.get(conv) == {0, 1}, conv
    by_conv: dict[tuple, list[int]] = {}
    for i, r in enumerate(rows):
        by_conv.setdefault(tuple(sorted(r.get("conventions", {}).items())), []).append(i)
    wrong, slow = [], []
    for key, idx in by_conv.items():
        vs = verify_batch([(rows[i]["gold"], rows[i]["pred"]) for i in idx], timeout=5.0,
                          conventions=Conventions(**dict(key)))
        for i, v in zip(idx, vs):
            if (v.verdict == "correct") != (rows[i]["label"] == 1):
                wrong.append((rows[i]["id"], rows[i]["pred"][:60], v.verdict, v.method, v.extracted))
            if v.details.get("worker_seconds", 0) > 6.0:
                slow.append(rows[i]["id"])
    assert not wrong, wrong
    assert not slow  # no check outlives the limit


# ---- letters ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("gold, expected", [
    ("C", ("C", None)), ("(B)", ("B", None)), ("\\text{(E)}", ("E", None)), ("\\textbf{(A)}", ("A", None)),
    ("(a)", ("A", None)), ("(A) 12 apples", ("A", "12 apples")), ("\\textbf{(C) }24", ("C", "24")),
    ("D) 7", ("D", "7")), ("(G) 10^5", ("G", "10^5")),
    # ordinary answers are not letters
    ("e", None), ("x", None), ("F", None), ("A'", None), ("B_1", None), ("2D", None), ("\\mathbb{C}", None),
    ("a+b", None), ("(a) + (b)", None), ("(A)\\cup(B)", None), ("AB", None),
])
def test_gold_choice(gold, expected):
    assert gold_choice(gold) == expected


@pytest.mark.parametrize("response, letter", [
    ("So we pick option D because it is the only one left.", "D"),
    ("answer: b", "B"),
    ("The final choice: (c)", "C"),
    ("**B**", "B"),
    ("(A) 7 oranges", "A"),
    ("Die Lösung: die richtige Antwort ist C.", "C"),
    ("Réponse : (d) car l'aire double.", "D"),
    ("综上，答案为 B", "B"),
    ("所以应选C", "C"),
    ("الجواب: (د)", "D"),
    ("答え：Ａ", "A"),
    ("First I thought A; but the correct answer is E.", "E"),
    ("Option B is wrong. Option D is correct.", "D"),
    # no letter: a symbol, a prime, a subscript, an article, a pronoun
    ("\\boxed{\\mathbb{A}}", None), ("The answer is C'", None), ("\\boxed{D_2}", None),
    ("the answer is a constant", None), ("The answer is, I believe, unclear", None),
])
def test_response_choice(response, letter):
    assert response_choice(response)[0] == letter


@pytest.mark.parametrize("gold, response", [
    ("B", "\\boxed{\\mathbb{B}}"), ("A", "\\boxed{A'}"), ("C", "The answer is $C^{*}$."), ("D", "\\boxed{\\hat{D}}"),
    ("e", "The answer is (E)."), ("E", "\\boxed{e}"), ("(E) 0.5", "\\boxed{e}"), ("C", "\\boxed{12}"),
])
def test_a_letter_never_matches_a_symbol(gold, response):
    v = verify(gold, response)
    assert v.verdict == "incorrect", v


def test_option_text_and_bare_letter_either_way():
    assert verify("(A) 12 apples", "The answer is A.").correct
    assert verify("A", "(A) 12 apples").correct
    assert verify("(A) 12 apples", "So she has \\boxed{12} apples.").correct  # the option's value
    assert verify("(A) 12 apples", "(B) 15 apples").verdict == "incorrect"


# ---- answers in prose, other languages ---------------------------------------------------------------------

@pytest.mark.parametrize("text, expected", [
    ("La réponse est 42 euros, payés en 3 fois", "42"),
    ("Réponse : il faut 9 jours, soit 216 heures.", "9"),
    ("La respuesta correcta es 12 cm, no 15.", "12 cm"),
    ("Die Antwort ist 5 Kilogramm, also 5000 Gramm.", "5"),
    ("Ответ: 44 рубля, сдача 6.", "44"),
    ("答案是 42", "42"),
    ("答案：共 18 人，每组 3 人。", None),  # the value does not lead its clause: not guessed from the middle
    ("所以答案为 $\\frac{2}{7}$，约等于 0.29。", "\\frac{2}{7}"),
    ("الإجابة هي 42", "42"),
    ("الإجابة: ٣٦ طالباً", "36"),
    ("答えは 8 本です。", "8"),
    ("정답은 27입니다.", "27"),
    ("A resposta é 3, pois 9 dividido por 3 é 3.", "3"),
    ("Donc il reste **17 billes** dans le sac, sur 20.", "17"),
    ("The answer is 40, since each of the 8 rows has 5.", "40"),
])
def test_multilingual_extraction(text, expected):
    got = extract_answer(text)
    if expected is None:
        assert got != "3"
    else:
        assert got == expected


# ---- algebra --------------------------------------------------------------------------------------------------

def test_algebra_check_accepts_equal_and_rejects_different_expressions():
    from sympy import Abs, I, Rational, Symbol, cos, pi, sin, sqrt, tan

    from distillate.curate.verify.algebra import algebra_equal

    x, i = Symbol("x"), Symbol("i")
    assert algebra_equal((1 + i) ** 2, 2 * i) is True          # i is the imaginary unit when alone
    assert algebra_equal((1 + i) ** 2, -2 * i) is False
    assert algebra_equal(tan(x) * cos(x), sin(x)) is True
    assert algebra_equal(x ** Rational(5, 2), x ** 2 * sqrt(x)) is True
    assert algebra_equal((x ** 2 - 1) / (x - 1), x + 1) is True
    # different functions differ at some point: never accepted
    assert algebra_equal(Abs(x), x) is False
    assert algebra_equal(sqrt(x ** 2), x) is False
    assert algebra_equal(x ** 2 + x / 10 ** 6, x ** 2) is False
    assert algebra_equal(sin(pi * x), x - x + 0 * x + x) is False
    assert algebra_equal(2 * x, 2 * Symbol("t")) is None          # other variables: not decided here
    # and through the worker
    assert verify("\\sin(\\pi x)", "\\boxed{0}").verdict == "incorrect"
    v = verify("-2+2i", "\\boxed{(1+i)^3}")
    assert v.correct and v.method == "mathverify+algebra"


def test_algebra_heavy_check_is_killed_at_the_limit():
    v = verify("x + y", "\\boxed{(x+y+1)^{150}}", timeout=1.0)
    assert v.verdict == "timeout" and v.details["worker_seconds"] <= 2.0
    assert verify("\\cos x", "\\boxed{\\cot x \\sin x}").correct  # the replaced worker goes on


# ---- notations -------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("gold, response, equal", [
    ("4 1/3", "\\boxed{\\frac{13}{3}}", True), ("4\\frac{1}{3}", "\\boxed{\\frac{4}{3}}", False),
    ("8:40 a.m.", "\\boxed{08:40}", True), ("8:40 a.m.", "\\boxed{20:40}", False), ("20:40", "\\boxed{8:40 PM}", True),
    ("h(x) = 5x", "\\boxed{y = 5x}", True), ("h(x) = 5x", "\\boxed{y = 5}", False),
    ("\\frac{\\pi}{6}", "\\\\frac{\\\\pi}{6}", True),
    ("\\begin{pmatrix} 3 & 1 \\\\ 0 & 2 \\end{pmatrix}", "\\boxed{[[3, 1], [0, 2]]}", True),
    ("\\begin{pmatrix} 3 & 1 \\\\ 0 & 2 \\end{pmatrix}", "\\boxed{[[3, 0], [1, 2]]}", False),
    ("9876543", "\\boxed{9\u2009876\u2009543}", True),
])
def test_notations(gold, response, equal):
    assert verify(gold, response).correct is equal


# ---- options graders disagree on -------------------------------------------------------------------------------

def test_convention_options():
    assert verify("25\\%", "\\boxed{0.25}").correct and verify("25\\%", "\\boxed{25}").correct  # default: either
    number, fraction = Conventions(percent="number"), Conventions(percent="fraction")
    assert verify("25\\%", "\\boxed{25}", conventions=number).correct
    assert not verify("25\\%", "\\boxed{0.25}", conventions=number).correct
    assert verify("25\\%", "\\boxed{\\frac{1}{4}}", conventions=fraction).correct
    assert not verify("25\\%", "\\boxed{25}", conventions=fraction).correct
    units = Conventions(units="match")
    assert verify("3 \\text{ km}", "\\boxed{3 \\text{ m}}").correct
    assert not verify("3 \\text{ km}", "\\boxed{3 \\text{ m}}", conventions=units).correct
    assert verify("3 \\text{ km}", "\\boxed{3}", conventions=units).correct
    ordered = Conventions(lists="ordered")
    assert verify("4, 6", "\\boxed{6, 4}").correct
    assert not verify("4, 6", "\\boxed{6, 4}", conventions=ordered).correct
    assert verify("4, 6", "\\boxed{4, 6}", conventions=ordered).correct
    assert Conventions.parse(["percent=number", "units=match"]) == Conventions(percent="number", units="match")
    with pytest.raises(DistillateError, match="percent"):
        Conventions(percent="half")
    with pytest.raises(DistillateError, match="NAME=VALUE"):
        Conventions.parse(["rounding=3"])


def test_check_answers_convention_flag(tmp_path):
    from typer.testing import CliRunner

    from distillate.cli import app

    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"gold": "10\\%", "out": "\\boxed{0.1}"}) + "\n")
    dst = tmp_path / "out.jsonl"
    for flags, verdict in (([], "correct"), (["--convention", "percent=number"], "incorrect")):
        r = CliRunner().invoke(app, ["check-answers", str(src), "--gold-field", "gold", "--pred-field", "out",
                                     "--out", str(dst), "--quiet", *flags])
        assert r.exit_code == 0, r.output
        assert json.loads(dst.read_text())["verdict"] == verdict
    bad = CliRunner().invoke(app, ["check-answers", str(src), "--gold-field", "gold", "--pred-field", "out",
                                   "--convention", "percent"])
    assert bad.exit_code != 0 and "NAME=VALUE" in str(bad.exception)


# ---- the same code in eval and in curation ----------------------------------------------------------------------

# (problem, reference, response): letters in prose and answers in other languages
ITEMS = [
    ("Which option? (A) 1 (B) 2 (C) 3 (D) 4", "C", "Looking at the options, hence option C is right."),
    ("Pick one: (A) 6 (B) 7", "(B) 7", "答案是 B，因为 3+4=7。"),
    ("Choose: (A) x (B) y", "A", "\\boxed{\\mathbb{A}}"),
    ("Combien d'euros ?", "42", "La réponse est 42 euros, payés en 3 fois."),
    ("¿Cuántos?", "3", "La respuesta es 42 euros, pagados en 3 veces."),
    ("كم؟", "36", "الإجابة هي ٣٦ طالباً، في 4 صفوف."),
]
EXPECTED = [("correct", "C"), ("correct", "B"), ("incorrect", "\\mathbb{A}"), ("correct", "42"),
            ("incorrect", "42"), ("correct", "36")]


def test_eval_path_reads_letters_and_other_languages(tmp_path, ws, qwen_tokenizer_path):
    from distillate.eval import EvalConfig, evaluate

    bench = tmp_path / "bench"
    bench.mkdir()
    with (bench / "mixed.jsonl").open("w", encoding="utf-8") as f:
        for k, (problem, answer, _) in enumerate(ITEMS):
            f.write(json.dumps({"id": f"m{k}", "problem": problem, "answer": answer}, ensure_ascii=False) + "\n")
    replies = {problem: text for problem, _, text in ITEMS}

    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def do_POST(self):  # noqa: N802 - http.server API
            req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            user = req["messages"][-1]["content"]
            text = next(t for p, t in replies.items() if user.startswith(p))
            data = json.dumps({"id": "x", "object": "chat.completion", "created": 0, "model": req["model"],
                               "choices": [{"index": 0, "finish_reason": "stop",
                                            "message": {"role": "assistant", "content": text}}],
                               "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        cfg = EvalConfig(model="m", backend="openai", endpoint=f"http://127.0.0.1:{httpd.server_address[1]}/v1",
                         benchmarks=["mixed"], benchmarks_dir=str(bench), max_tokens=64,
                         tokenizer=str(qwen_tokenizer_path))
        evaluate(ws, cfg, tmp_path / "out", show_progress=False, record=False)
    finally:
        httpd.shutdown()
        httpd.server_close()
    samples = {s["item_id"]: s for s in map(json.loads, (tmp_path / "out" / "samples.jsonl").open(encoding="utf-8"))}
    got = [(samples[f"m{k}"]["verdict"], samples[f"m{k}"]["extracted"]) for k in range(len(ITEMS))]
    assert got == EXPECTED


def test_curation_path_reads_letters_and_other_languages(ws, ingest_files, tmp_path):
    from distillate.curate import curate
    from distillate.curate.verify import VERSION

    f = tmp_path / "t.jsonl"
    f.write_text("\n".join(json.dumps({"problem": p, "answer": a, "solution": s}, ensure_ascii=False)
                           for p, a, s in ITEMS) + "\n", encoding="utf-8")
    ingest_files([f], "mixed")
    res = curate(ws, "verify", show_progress=False)["verify"]
    assert res["checked"] == len(ITEMS)
    sql = ("SELECT p.problem, v.verdict, v.extracted, v.verifier_version FROM verdicts v "
           "JOIN traces t USING (trace_id) JOIN problems p USING (problem_id)")
    with ws.reader() as cat:
        got = {r[0]: r[1:] for r in cat.fetch(sql)}
    assert [got[p][:2] for p, _, _ in ITEMS] == EXPECTED
    assert {g[2] for g in got.values()} == {VERSION}
    # verdicts of an older verifier version are recomputed; current ones are not
    with ws.job("test") as (cat, _):
        cat.fetch("UPDATE verdicts SET verifier_version = '1' WHERE extracted = '42'")
    assert curate(ws, "verify", show_progress=False)["verify"]["checked"] == 2
    assert curate(ws, "verify", show_progress=False)["verify"]["checked"] == 0
