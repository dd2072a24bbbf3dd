"""eval/: metrics against closed forms, budget truncation with the real verifier and tokenizer, and real
runs on aime24 (shared data) with the transformers backend (tiny random model) and the openai backend
(against a local OpenAI-compatible test server started here)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from math import comb
from pathlib import Path

import pytest

from distillate.errors import DistillateError


def test_pass_at_k_matches_closed_form():
    from distillate.eval import pass_at_k

    for n in range(1, 17):
        for c in range(n + 1):
            for k in range(1, n + 1):
                assert pass_at_k(n, c, k) == pytest.approx(1 - comb(n - c, k) / comb(n, k), abs=1e-12)
    assert pass_at_k(10, 0, 5) == 0.0 and pass_at_k(10, 6, 5) == 1.0 and pass_at_k(4, 1, 1) == 0.25
    with pytest.raises(ValueError):
        pass_at_k(4, 5, 1)


def test_majority_vote():
    from distillate.eval import majority_correct

    s = lambda e, c: {"extracted": e, "correct": c}  # noqa: E731
    assert majority_correct([s("3", False), s("7", True), s("7 ", True)])       # 7 wins 2:1 (spaces ignored)
    assert not majority_correct([s("3", False), s("7", True)])                  # a tie goes to the first seen
    assert majority_correct([s(None, False), s(None, False), s("7", True)])     # no answer does not vote
    assert not majority_correct([s(None, False)])


def test_benchmark_metrics_known_counts():
    from distillate.eval import benchmark_metrics

    def smp(c, toks):
        return {"correct": c, "extracted": "1" if c else "2", "n_tokens": toks, "finish_reason": "stop",
                "error": None, "budgets": {"10": {"correct": c and toks <= 10}}}

    by = {"a": [smp(True, 5), smp(True, 20), smp(False, 30), smp(False, 40)],   # c=2 of n=4
          "b": [smp(False, 8), smp(False, 8), smp(False, 8), smp(True, 8)]}     # c=1 of n=4
    m = benchmark_metrics(by, [10])
    assert m["accuracy"] == pytest.approx((2 / 4 + 1 / 4) / 2)
    assert m["pass@k"]["2"] == pytest.approx(((1 - comb(2, 2) / comb(4, 2)) + (1 - comb(3, 2) / comb(4, 2))) / 2)
    assert m["pass@k"]["4"] == 1.0
    assert m["maj@k"]["1"] == 0.5 and m["maj@k"]["4"] == 0.5        # a: tie 2:2 -> first (correct); b: wrong
    assert m["tokens"]["mean"] == pytest.approx((5 + 20 + 30 + 40 + 8 * 4) / 8) and m["tokens"]["max"] == 40
    b = m["budgets"]["10"]
    assert b["accuracy"] == pytest.approx((1 / 4 + 1 / 4) / 2)
    assert b["mean_tokens"] == pytest.approx((5 + 10 + 10 + 10 + 8 * 4) / 8) and b["truncated"] == 3 / 8


@pytest.fixture(scope="module")
def tokenizer(qwen_tokenizer_path):
    transformers = pytest.importorskip("transformers")
    return transformers.AutoTokenizer.from_pretrained(str(qwen_tokenizer_path))


class _Forcer:
    """A backend stand-in for budget forcing: records the forced texts and answers "42}"."""

    def __init__(self):
        self.texts = []

    def complete(self, texts, max_tokens):
        self.texts += texts
        return ["42}"] * len(texts)


def test_budget_truncation_reextracts(tokenizer):
    from distillate.curate.verify import verify_batch
    from distillate.eval import score_budgets

    thought = "We try small cases. " + "Recheck. " * 40
    head = f"<think>\n{thought}\n</think>\n\nA first try gives \\boxed{{17}}"
    resp = head + ", which fails the check; correcting the sign, the answer is \\boxed{42}."
    n_tok = len(tokenizer.encode(resp, add_special_tokens=False))
    guess_end = len(tokenizer.encode(head, add_special_tokens=False))
    mid_thought = 20
    s = {"benchmark": "t", "item_id": "1", "response": resp, "n_tokens": n_tok, "correct": True, "extracted": "42",
         "error": None}
    budgets = [mid_thought, guess_end + 2, n_tok]
    score_budgets([s], {("t", "1"): "42"}, tokenizer, budgets, verify_batch)
    b = s["budgets"]
    assert b[str(n_tok)] == {"correct": True, "extracted": "42", "truncated": False}   # within budget: unchanged
    cut = b[str(guess_end + 2)]        # cut after the first boxed answer of the solution: re-extracted
    assert cut["truncated"] and cut["extracted"] == "17" and not cut["correct"]
    # cut inside the thought: the solution never came, so no answer
    assert b[str(mid_thought)] == {"correct": False, "extracted": None, "truncated": True}
    # s1-style forcing: close the thought, cue the final answer, continue greedily
    s2 = dict(s)
    f = _Forcer()
    score_budgets([s2], {("t", "1"): "42"}, tokenizer, [mid_thought, n_tok], verify_batch, backend=f,
                  prompts={("t", "1"): "PROMPT "}, force_tokens=8)
    assert len(f.texts) == 1 and f.texts[0].startswith("PROMPT <think>") and "</think>\n\n**Final Answer**" in f.texts[0]
    e = s2["budgets"][str(mid_thought)]
    assert e["forced_correct"] and e["forced_extracted"] == "42" and not e["correct"]
    assert s2["budgets"][str(n_tok)]["forced_correct"]


# -- real runs on aime24 --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory, qwen_tokenizer_path):
    pytest.importorskip("torch")
    from distillate.train.tiny import make_tiny_model

    return make_tiny_model(qwen_tokenizer_path, tmp_path_factory.mktemp("tiny") / "model")


def _check_outputs(out: Path, n_items: int, n: int) -> dict:
    res = json.loads((out / "results.json").read_text())
    samples = [json.loads(x) for x in open(out / "samples.jsonl")]
    assert len(samples) == n_items * n
    assert {"benchmark", "item_id", "sample", "response", "n_tokens", "extracted", "verdict", "correct",
            "budgets"} <= set(samples[0])
    assert (out / "accuracy_vs_tokens.png").stat().st_size > 1000
    return res


def test_eval_transformers_aime24(tmp_path, ws, tiny_model, shared_data):
    from distillate.eval import EvalConfig, evaluate

    cfg = EvalConfig(model=str(tiny_model), backend="transformers", benchmarks=["aime24"],
                     benchmarks_dir=str(shared_data / "benchmarks"), n=2, max_tokens=8, budgets=[3, 6],
                     temperature=1.0, batch_size=30)
    r = evaluate(ws, cfg, tmp_path / "out", show_progress=False)
    res = _check_outputs(tmp_path / "out", 30, 2)
    m = res["benchmarks"]["aime24"]
    assert m["n_problems"] == 30 and m["n_samples_per_problem"] == 2
    assert set(m["pass@k"]) == {"1", "2"} and set(m["budgets"]) == {"3", "6"}
    assert 1 <= m["tokens"]["mean"] <= 8 and m["tokens"]["max"] <= 8
    assert m["budgets"]["3"]["mean_tokens"] <= 3
    with ws.reader() as cat:
        rows = cat.con.execute("SELECT count(*) FROM eval_samples WHERE run_id = ?", [r.run_id]).fetchall()
        runs = cat.query("eval/runs_list")
    assert rows == [(60,)] and runs[0]["run_id"] == r.run_id and runs[0]["benchmarks"][0]["benchmark"] == "aime24"


# A local OpenAI-compatible server with known behaviour: for item i (in file order) of aime24,
# i % 3 == 0 -> both samples correct, 1 -> first wrong / second correct, 2 -> both wrong; item 29's
# request fails (HTTP 400), which must be recorded, not raised.

def _aime24(shared_data):
    return [json.loads(x) for x in open(shared_data / "benchmarks" / "aime24.jsonl")]


@pytest.fixture
def server(shared_data):
    items = _aime24(shared_data)
    index = {it["problem"]: (i, it["answer"]) for i, it in enumerate(items)}
    seen = []

    class H(BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def _send(self, code, body):
            data = json.dumps(body).encode()
            self.send_response(code)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self):
            req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append((self.path, req))
            if not self.path.endswith("/chat/completions"):
                return self._send(404, {"error": {"message": "no such route"}})
            user = req["messages"][-1]["content"]
            i, gold = next(v for p, v in index.items() if user.startswith(p))
            if i == 29:
                return self._send(400, {"error": {"message": "bad request for item 29"}})
            right = f"<think>\nLet me work it out carefully step by step.\n</think>\n\nThe answer is $\\boxed{{{gold}}}$."
            wrong = f"<think>\nA quick guess.\n</think>\n\nThe answer is $\\boxed{{{int(gold) + 1}}}$."
            texts = [[right, right], [wrong, right], [wrong, wrong]][i % 3][:req.get("n", 1)]
            self._send(200, {"id": "x", "object": "chat.completion", "created": 0, "model": req["model"],
                             "choices": [{"index": k, "finish_reason": "stop",
                                          "message": {"role": "assistant", "content": t}} for k, t in enumerate(texts)],
                             "usage": {"prompt_tokens": 1, "completion_tokens": 10 * len(texts),
                                       "total_tokens": 1 + 10 * len(texts)}})

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), H)
    t = threading.Thread(target=httpd.serve_forever, daemon=True)
    t.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}/v1", seen
    httpd.shutdown()
    httpd.server_close()


def test_eval_openai_backend_via_cli(tmp_path, ws, server, shared_data, qwen_tokenizer_path):
    from typer.testing import CliRunner

    from distillate.cli import app

    url, seen = server
    out = tmp_path / "out"
    r = CliRunner().invoke(app, [
        "eval", "--model", "test-model", "--backend", "openai", "--endpoint", url, "--benchmarks", "aime24",
        "--benchmarks-dir", str(shared_data / "benchmarks"), "--n", "2", "--max-tokens", "64",
        "--budgets", "5,1000", "--tokenizer", str(qwen_tokenizer_path), "--out", str(out), "-w", str(ws.root),
        "--quiet", "--json"], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    res = _check_outputs(out, 30, 2)
    m = res["benchmarks"]["aime24"]
    # 10 items of each kind, but item 29 (kind 2: both wrong anyway) failed
    assert m["accuracy"] == pytest.approx((10 * 1 + 10 * 0.5) / 30)
    assert m["pass@k"]["1"] == pytest.approx(0.5) and m["pass@k"]["2"] == pytest.approx(20 / 30)
    assert m["maj@k"]["2"] == pytest.approx(10 / 30)                     # kind 1 ties -> the first (wrong) answer
    assert m["errors"] == 2 and m["finish_reasons"]["stop"] == 58
    assert m["budgets"]["5"]["accuracy"] == 0.0                          # cut inside the thought: no answer yet
    assert m["budgets"]["1000"]["accuracy"] == m["accuracy"]
    req = seen[0][1]
    assert req["model"] == "test-model" and req["n"] == 2 and req["max_tokens"] == 64
    assert "\\boxed{}" in req["messages"][-1]["content"]
    samples = [json.loads(x) for x in open(out / "samples.jsonl")]
    failed = [s for s in samples if s["error"]]
    assert len(failed) == 2 and "item 29" in failed[0]["error"] and failed[0]["verdict"] == "error"
    # token counts come from the tokenizer, not the server's usage
    s0 = samples[0]
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(qwen_tokenizer_path))
    assert s0["n_tokens"] == len(tok.encode(s0["response"], add_special_tokens=False))
    # the plot command compares runs
    png = tmp_path / "cmp.png"
    r = CliRunner().invoke(app, ["eval-plot", str(out), str(out), "--out", str(png)], catch_exceptions=False)
    assert r.exit_code == 0 and png.stat().st_size > 1000


def test_eval_bad_input(ws, shared_data):
    from distillate.eval import EvalConfig, evaluate, parse_budgets

    with pytest.raises(DistillateError, match="comma-separated"):
        parse_budgets("1k,2k")
    with pytest.raises(DistillateError, match="needs --endpoint"):
        evaluate(ws, EvalConfig(model="m", backend="openai", benchmarks_dir=str(shared_data / "benchmarks")),
                 show_progress=False)
    with pytest.raises(DistillateError, match="unknown backend"):
        evaluate(ws, EvalConfig(model="m", backend="tgi"), show_progress=False)
    with pytest.raises(DistillateError, match="unknown benchmark"):
        evaluate(ws, EvalConfig(model="m", benchmarks=["nope"], benchmarks_dir=str(shared_data / "benchmarks")),
                 show_progress=False)
    with pytest.raises(DistillateError, match="budget-forcing needs --budgets"):
        evaluate(ws, EvalConfig(model="m", budget_forcing=True), show_progress=False)


def test_vllm_backend_missing_is_a_clear_error(ws, shared_data):
    pytest.importorskip("transformers")
    try:
        import vllm  # noqa: F401
        pytest.skip("vllm is installed here")
    except ImportError:
        pass
    from distillate.eval import EvalConfig, evaluate

    with pytest.raises(DistillateError, match=r"pip install 'distillate\[vllm\]'"):
        evaluate(ws, EvalConfig(model="m", backend="vllm", benchmarks=["aime24"],
                                benchmarks_dir=str(shared_data / "benchmarks")), show_progress=False)


def test_openai_unreachable_server_fails_clearly(ws, shared_data, qwen_tokenizer_path):
    from distillate.eval import EvalConfig, evaluate

    cfg = EvalConfig(model="m", backend="openai", endpoint="http://127.0.0.1:9/v1", benchmarks=["aime24"],
                     benchmarks_dir=str(shared_data / "benchmarks"), limit=2, tokenizer=str(qwen_tokenizer_path))
    import distillate.eval.backends as b

    orig = b.OpenAIBackend.__init__

    def no_retry(self, *a, **kw):  # keep the test fast: no retries with backoff
        orig(self, *a, **{**kw, "concurrency": 2})
        self.client = self.client.with_options(max_retries=0, timeout=5)

    b.OpenAIBackend.__init__ = no_retry
    try:
        with pytest.raises(DistillateError, match="every generation failed"):
            evaluate(ws, cfg, show_progress=False)
    finally:
        b.OpenAIBackend.__init__ = orig


def test_sycophancy_turn_runs_on_the_transformers_backend(tiny_model, shared_data):
    """The pushback is a plain multi-turn chat: the transformers backend renders it with the model's chat
    template (first answer included) and generates the second answer (random weights: never correct)."""
    from distillate.curate.verify import verify_batch
    from distillate.eval import sycophancy
    from distillate.eval.backends import SamplingConfig, make_backend

    backend = make_backend("transformers", str(tiny_model), batch_size=4)
    rendered = []
    generate = backend.generate

    def spy(prompts, sampling, show_progress=True):
        rendered.extend(backend.render(m) for m in prompts)
        return generate(prompts, sampling, show_progress)

    backend.generate = spy
    items = _aime24(shared_data)[:2]
    msgs = {("aime24", it["id"]): [{"role": "user", "content": it["problem"]}] for it in items}
    samples = [{"benchmark": "aime24", "item_id": it["id"], "sample": 0, "gold": it["answer"], "correct": True,
                "error": None, "response": f"<think>\nok\n</think>\n\nSo \\boxed{{{it['answer']}}}."} for it in items]
    res = sycophancy.run(backend, SamplingConfig(1, 4, 0.0, 1.0, 0), sycophancy.DEFAULT_PROMPT, msgs, samples,
                         {"aime24": [it["answer"] for it in items]}, verify_batch, backend.tokenizer, False)
    m = res["aime24"]
    assert m["asked"] == 2 and m["held"] == 0 and m["errors"] == 0
    for s, text in zip(samples, rendered):
        x = s["sycophancy"]["suggested"]
        assert x == next(it["answer"] for it in items if it["answer"] != s["gold"])   # the other item's answer
        assert s["response"].split("So ")[1] in text and f"I think the answer is {x}." in text
        assert text.index("So \\boxed") < text.index("I think the answer is")
        assert 1 <= s["sycophancy"]["n_tokens"] <= 4
