"""One endpoint configuration (distillate/endpoint.py) and one redaction (distillate/redact.py): model family
rules, the options every command shares, `eval --backend openai` against reasoning models, and secrets on every
path that records an endpoint, an argument list or an error text -- each against the local test server
(tests/fake_openai_server.py) in a mode that echoes the key back, as some servers do."""

from __future__ import annotations

import base64
import json
import logging
import os
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from fake_openai_server import FakeOpenAI  # noqa: E402

from distillate.errors import DistillateError  # noqa: E402

KEY = "sk-proj-EchoMe0123456789abcdefABCDEF0123"
PASSWORD = "hunter2-correct-horse"
QSECRET = "qs-7f6e5d4c3b2a1908"
EXE = Path(sys.executable).parent / "distillate"


def _no_secret_in(root: Path, *texts: str, secrets=(KEY, PASSWORD, QSECRET)) -> None:
    pieces = [s for sec in secrets for s in (sec, sec[:12], sec[-12:])]
    pieces.append(base64.b64encode(f"evaluser:{PASSWORD}".encode()).decode())
    for p in root.rglob("*"):
        if p.is_file():
            data = p.read_bytes()
            for piece in pieces:
                assert piece.encode() not in data, f"secret material in {p}"
    for t in texts:
        for piece in pieces:
            assert piece not in t, f"secret material in output: {t[:300]}"


def _aime(shared_data, n=None):
    rows = [json.loads(x) for x in (shared_data / "benchmarks" / "aime24.jsonl").open()]
    return rows[:n] if n else rows


def _run(*args, env=None, timeout=300):
    r = subprocess.run([str(EXE), *map(str, args)], capture_output=True, text=True, timeout=timeout,
                       env={**os.environ, **(env or {})})
    r.err = " ".join(r.stderr.split())
    return r


# ---- the family rules and the one client factory ------------------------------------------------------

def test_model_family_rules_and_request_parameters():
    from distillate.endpoint import CHAT, REASONING, EndpointConfig, model_family

    for m in ("o1", "o1-mini", "o1-preview", "o3-mini-2025-01-31", "o4-mini", "gpt-5", "gpt-5-mini", "gpt-5.1",
              "openai/o1-mini", "O3"):
        assert model_family(m) is REASONING, m
    for m in ("gpt-4o", "gpt-4o-mini", "deepseek-reasoner", "Qwen/QwQ-32B-Preview", "omni-moderation", "o", "gpt-50x"):
        assert model_family(m) is CHAT, m
    assert model_family("my-azure-deploy", ["my-azure-*"]) is REASONING
    msgs = [{"role": "user", "content": "hi"}]
    kw = EndpointConfig(model="o3-mini", reasoning_effort="low").chat_kwargs(msgs, max_tokens=100, temperature=0.7,
                                                                             top_p=0.9, seed=3, n=1)
    assert kw == {"model": "o3-mini", "messages": msgs, "max_completion_tokens": 100, "seed": 3,
                  "reasoning_effort": "low", "n": 1}
    kw = EndpointConfig(model="qwen").chat_kwargs(msgs, max_tokens=100, temperature=0.7, top_p=0.9, stream=None)
    assert kw == {"model": "qwen", "messages": msgs, "max_tokens": 100, "temperature": 0.7, "top_p": 0.9}
    assert EndpointConfig(model="qwen").reply_tokens(8) == 8 and EndpointConfig(model="o1").reply_tokens(8) > 1000
    with pytest.raises(DistillateError, match="applies to reasoning models"):
        EndpointConfig(model="qwen", reasoning_effort="high").validate_endpoint()
    with pytest.raises(DistillateError, match="low, medium, high"):
        EndpointConfig(model="o1", reasoning_effort="max").validate_endpoint()


def test_api_key_is_read_by_name_and_never_kept(monkeypatch):
    from distillate.endpoint import EndpointConfig
    from distillate.redact import redact

    monkeypatch.delenv("MY_TEACHER_KEY", raising=False)
    ep = EndpointConfig(model="m", endpoint="https://api.example.com/v1", api_key_env="MY_TEACHER_KEY")
    with pytest.raises(DistillateError, match=r"set \$MY_TEACHER_KEY"):
        ep.client()
    assert EndpointConfig(model="m", endpoint="http://127.0.0.1:8000/v1").api_key() == "EMPTY"
    monkeypatch.setenv("MY_TEACHER_KEY", "sk-another-key-0000111122223333")
    client = ep.client()
    assert client.api_key == "sk-another-key-0000111122223333" and client.max_retries == 0
    assert "sk-another-key-0000111122223333" not in json.dumps(ep.__dict__)  # the config holds the name only
    assert "0000111122223333" not in redact("server said: key ...0000111122223333 is invalid")  # registered


def test_refusal_shapes():
    from distillate.endpoint import EndpointConfig, refusal, refusal_fix

    def err(msg, code, param):
        return SimpleNamespace(status_code=400, code=code, param=param, body={"message": msg})

    e = err("Unsupported parameter: 'max_tokens' is not supported with this model. Use 'max_completion_tokens' "
            "instead.", "unsupported_parameter", "max_tokens")
    assert refusal(e) == ("max_tokens", e.body["message"])
    e = err("Unsupported value: 'temperature' does not support 0.7 with this model. Only the default (1) value is "
            "supported.", "unsupported_value", "temperature")
    assert refusal(e)[0] == "temperature"
    assert refusal(err("Unsupported parameter: 'top_p'", None, None))[0] == "top_p"  # another server's words
    assert refusal(err("prompt too long", "context_length_exceeded", None)) is None
    assert refusal(SimpleNamespace(status_code=500, code=None, param=None, body=None)) is None
    chat, reasoning = EndpointConfig(model="dep"), EndpointConfig(model="o1")
    assert "--reasoning-model dep" in refusal_fix(chat, "temperature")
    assert "drop --reasoning-effort" in refusal_fix(reasoning, "reasoning_effort")


def test_shared_options_are_defined_once():
    import typer.main

    from distillate.cli import app
    from distillate.curate.generate.config import GenerateConfig
    from distillate.options import flagged_fields

    root = typer.main.get_command(app)
    cmds = {n: root.get_command(None, n) for n in ("generate", "reformat", "eval", "curate")}
    opts = {n: {o: p for p in c.params for o in [*p.opts, *getattr(p, "secondary_opts", [])]} for n, c in cmds.items()}
    contract = ["--problems", "--model", "--endpoint", "--n", "--max-tokens", "--temperature", "--top-p", "--seed",
                "--concurrency", "--rpm", "--tpm", "--prompt", "--system", "--api-key-env", "--source", "-s",
                "--on-length", "--price-table", "--stream", "--no-stream", "--backend", "--timeout", "--max-attempts",
                "--retry-failed", "--no-retry-failed", "--limit", "--json"]
    assert set(contract) <= set(opts["generate"])
    assert set(contract) - {"--problems"} | {"--traces", "--field", "--min-length-ratio", "--max-length-ratio",
                                             "--min-overlap", "--max-overlap", "--ngram"} <= set(opts["reformat"])
    new = {"--reasoning-model", "--reasoning-effort", "--dry-run"}
    assert new <= set(opts["generate"]) and new <= set(opts["reformat"])
    # one definition: the same help in both commands for every shared config field
    for f in flagged_fields(GenerateConfig):
        flag = f.metadata["flag"].split("/")[0]
        if f.name != "prompt":
            assert opts["generate"][flag].help == opts["reformat"][flag].help == f.metadata["help"], flag
    for flag in ("--endpoint", "--api-key-env", "--reasoning-model", "--reasoning-effort"):
        assert opts["eval"][flag].help == opts["generate"][flag].help, flag
    for flag in ("--judge-endpoint", "--judge-model", "--decontam-judge-url", "--decontam-judge-model",
                 "--decontam-judge-endpoint", "--judge-api-key-env"):
        assert flag in opts["curate"], flag
    assert opts["curate"]["--decontam-judge-url"] is opts["curate"]["--decontam-judge-endpoint"]


# ---- eval --backend openai against reasoning models (issue 17) ----------------------------------------

def test_eval_reasoning_model_parameters_and_hidden_tokens(ws, shared_data, tmp_path, qwen_tokenizer_path):
    from transformers import AutoTokenizer

    from distillate.eval import EvalConfig, evaluate

    items = _aime(shared_data, 6)
    with FakeOpenAI({it["problem"]: it["answer"] for it in items}, reasoning_model=True) as srv:
        cfg = EvalConfig(model="o1-mini", backend="openai", endpoint=srv.url, benchmarks=["aime24"],
                         benchmarks_dir=str(shared_data / "benchmarks"), limit=6, n=2, max_tokens=4000,
                         reasoning_effort="low", budgets=[50, 100_000], tokenizer=str(qwen_tokenizer_path),
                         concurrency=2)
        res = evaluate(ws, cfg, tmp_path / "out", show_progress=False).results
        log = list(srv.log)
    assert len(log) == 12 and all(e["status"] == 200 for e in log)
    for e in log:
        assert e["max_completion_tokens"] == 4000 and e["reasoning_effort"] == "low"
        assert not {"max_tokens", "temperature", "top_p"} & set(e["params"])
    hidden = sorted(e["usage"]["completion_tokens_details"]["reasoning_tokens"] for e in log)
    samples = [json.loads(x) for x in (tmp_path / "out" / "samples.jsonl").open()]
    tok = AutoTokenizer.from_pretrained(str(qwen_tokenizer_path))
    assert sorted(s["hidden_reasoning_tokens"] for s in samples) == hidden and min(hidden) > 50
    for s in samples:  # the hidden reasoning counts as output tokens
        assert s["correct"] and s["reasoning_tokens"] == s["hidden_reasoning_tokens"]
        assert s["n_tokens"] == len(tok.encode(s["response"], add_special_tokens=False)) + s["hidden_reasoning_tokens"]
    m = res["benchmarks"]["aime24"]
    assert m["accuracy"] == 1.0 and m["tokens"]["mean"] == pytest.approx(sum(s["n_tokens"] for s in samples) / 12)
    # a 50-token budget ends inside the hidden reasoning: no answer yet
    assert m["budgets"]["50"]["accuracy"] == 0.0 and m["budgets"]["100000"]["accuracy"] == 1.0
    assert res["config"]["reasoning_effort"] == "low"


def test_eval_refused_parameter_stops_once_with_the_fix(ws, shared_data, tmp_path, qwen_tokenizer_path):
    from distillate.eval import EvalConfig, evaluate

    items = _aime(shared_data, 6)
    with FakeOpenAI({it["problem"]: it["answer"] for it in items}, reasoning_model=True) as srv:
        cfg = EvalConfig(model="fake-reasoner", backend="openai", endpoint=srv.url, benchmarks=["aime24"],
                         benchmarks_dir=str(shared_data / "benchmarks"), limit=6, tokenizer=str(qwen_tokenizer_path),
                         concurrency=2)
        with pytest.raises(DistillateError, match=r"refused the parameter 'max_tokens'.*--reasoning-model fake-reasoner"):
            evaluate(ws, cfg, tmp_path / "a", show_progress=False)
        assert len(srv.log) <= 2  # at most the requests in flight, not one per item
        cfg.reasoning_models = ["fake-reason*"]
        res = evaluate(ws, cfg, tmp_path / "b", show_progress=False).results
    assert res["benchmarks"]["aime24"]["accuracy"] == 1.0 and res["benchmarks"]["aime24"]["errors"] == 0


@pytest.mark.parametrize("style", ["reasoning_content", "reasoning"])
def test_eval_keeps_returned_reasoning(ws, shared_data, tmp_path, qwen_tokenizer_path, style):
    from distillate.eval import EvalConfig, evaluate

    items = _aime(shared_data, 4)
    with FakeOpenAI({it["problem"]: it["answer"] for it in items}, style=style) as srv:
        cfg = EvalConfig(model="r1-distill", backend="openai", endpoint=srv.url, benchmarks=["aime24"],
                         benchmarks_dir=str(shared_data / "benchmarks"), limit=4, tokenizer=str(qwen_tokenizer_path))
        evaluate(ws, cfg, tmp_path / "out", show_progress=False)
        rtok = sorted(e["usage"]["completion_tokens_details"]["reasoning_tokens"] for e in srv.log)
        sent = srv.log[0]
    assert sent["max_tokens"] == 32768 and "temperature" in sent["params"]  # a chat model: as before
    samples = [json.loads(x) for x in (tmp_path / "out" / "samples.jsonl").open()]
    assert sorted(s["reasoning_tokens"] for s in samples) == rtok
    for s in samples:
        assert s["response"].startswith("<think>\nLet me think about this step by step") and "</think>" in s["response"]
        assert s["correct"] and s["hidden_reasoning_tokens"] == 0


# ---- secrets: one redaction on every path (issue 23) ----------------------------------------------------

def test_redact_patterns():
    from distillate.redact import public_url, redact, redact_obj

    assert redact(f"key {KEY} failed", KEY) == "key *** failed"
    assert KEY[3:20] not in redact(f"masked {KEY[3:20]}...", KEY)
    assert redact("http://bob:s3cr3t@host:8000/v1") == "http://***@host:8000/v1"
    assert redact("https://h/v1?api-key=abc&x=1&token=zz") == "https://h/v1?api-key=***&x=1&token=***"
    assert redact("Authorization: Bearer abcdefgh12345678") == "Authorization: ***"
    assert redact('{"authorization": "Basic dXNlcjpwYXNzd29yZA=="}') == '{"authorization": "***"}'
    assert redact("bearer abcdefgh12345678 and sk-abcdefghij1234") == "bearer *** and sk-***"
    assert redact("step 1: compute 12345678 tokens") == "step 1: compute 12345678 tokens"
    assert redact_obj({"a": ["http://u:p@h/v1", 3], "b": None}) == {"a": ["http://***@h/v1", 3], "b": None}
    assert public_url("http://u:p@h:1/v1?key=z") == "http://h:1/v1"


def test_log_lines_are_redacted(monkeypatch):
    from distillate.log import log
    from distillate.redact import register_secret

    register_secret(KEY)
    seen: list[str] = []

    class H(logging.Handler):
        def emit(self, record):
            seen.append(self.format(record))

    h = H()
    log.addHandler(h)
    try:
        log.warning("request failed: %s", f"Incorrect API key provided: {KEY} at http://u:{PASSWORD}@h/v1")
    finally:
        log.removeHandler(h)
    assert seen and "***" in seen[0] and KEY not in seen[0] and PASSWORD not in seen[0]


def test_eval_with_an_echoing_server_stores_no_secret(ws, shared_data, tmp_path, qwen_tokenizer_path):
    """samples.jsonl, eval_samples.error, results.json, eval_runs.config, jobs.args: neither the key echoed in an
    error nor the password of an endpoint given as http://user:pass@host/v1."""
    items = _aime(shared_data, 6)
    echo_every_other = lambda rid, n: "echo" if n % 2 == 0 else None  # noqa: E731 - eval sends no request id
    outs = []
    with FakeOpenAI({it["problem"]: it["answer"] for it in items}, faults=echo_every_other) as srv:
        port = srv.url.split(":")[2].split("/")[0]
        for i, url in enumerate((srv.url, f"http://evaluser:{PASSWORD}@127.0.0.1:{port}/v1?api-key={QSECRET}")):
            out = tmp_path / f"out{i}"
            r = _run("eval", "--model", "m", "--backend", "openai", "--endpoint", url, "--benchmarks", "aime24",
                     "--benchmarks-dir", shared_data / "benchmarks", "--limit", 6, "--tokenizer", qwen_tokenizer_path,
                     "--concurrency", 1, "--out", out, "-w", ws.root, "--quiet", "--json",
                     env={"OPENAI_API_KEY": KEY})
            assert r.returncode == 0, r.stderr[-2000:]
            outs.append((out, r))
    for out, r in outs:
        samples = [json.loads(x) for x in (out / "samples.jsonl").open()]
        errors = [s["error"] for s in samples if s["error"]]
        assert len(errors) == 3 and all("Authorization: ***" in e for e in errors), errors
        _no_secret_in(out, r.stdout, r.stderr)
    # stored as the endpoint's public form: no user:password@, no query string
    assert json.loads((outs[1][0] / "results.json").read_text())["config"]["endpoint"] == f"http://127.0.0.1:{port}/v1"
    with ws.reader() as cat:
        cfgs = [r[0] for r in cat.fetch("SELECT CAST(config AS VARCHAR) FROM eval_runs")]
        errs = [r[0] for r in cat.fetch("SELECT error FROM eval_samples WHERE error IS NOT NULL")]
    assert len(cfgs) == 2 and len(errs) == 6 and all("***" in e for e in errs)
    _no_secret_in(ws.root)


def test_every_generation_failed_message_is_redacted(ws, shared_data, tmp_path, qwen_tokenizer_path):
    items = _aime(shared_data, 3)
    with FakeOpenAI({it["problem"]: it["answer"] for it in items}, faults=lambda rid, n: "echo") as srv:
        r = _run("eval", "--model", "m", "--backend", "openai", "--endpoint", srv.url, "--benchmarks", "aime24",
                 "--benchmarks-dir", shared_data / "benchmarks", "--limit", 3, "--tokenizer", qwen_tokenizer_path,
                 "--out", tmp_path / "out", "-w", ws.root, "--quiet", env={"OPENAI_API_KEY": KEY})
    assert r.returncode == 2 and "every generation failed" in r.err and "Authorization: ***" in r.err
    _no_secret_in(tmp_path, r.stdout, r.stderr)


def test_verify_judge_error_stores_no_secret(ws, ingest_files, tmp_path, monkeypatch):
    from distillate.curate import curate

    monkeypatch.setenv("JUDGE_KEY", KEY)
    f = tmp_path / "t.jsonl"
    f.write_text(json.dumps({"problem": "p1", "answer": "\\frac{1}{", "solution": "so \\boxed{3}"}) + "\n")
    ingest_files([f], "s")
    with FakeOpenAI({}, faults=lambda rid, n: "echo") as srv:
        curate(ws, "verify", show_progress=False, judge_endpoint=srv.url, judge_model="judge-1",
               judge_api_key_env="JUDGE_KEY")
        assert srv.log and all(e["status"] == 400 for e in srv.log)
    with ws.reader() as cat:
        details = [json.loads(r[0]) for r in cat.fetch("SELECT CAST(details AS VARCHAR) FROM verdicts")]
    assert details[0]["judge_error"].startswith("BadRequestError") and "Authorization: ***" in details[0]["judge_error"]
    _no_secret_in(ws.root)


def test_decontam_judge_url_and_error_store_no_secret(ws, ingest_files, shared_data, tmp_path):
    aime = _aime(shared_data)
    half = aime[0]["problem"][: len(aime[0]["problem"]) * 2 // 5]  # a borderline pair: the judge is asked
    f = tmp_path / "p.jsonl"
    f.write_text(json.dumps({"id": "half", "problem": half + " Aya then rests. What is her speed?", "answer": "1"}) + "\n")
    ingest_files([f], "p", "problems")
    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "aime24.jsonl").write_text((shared_data / "benchmarks" / "aime24.jsonl").read_text())
    with FakeOpenAI({}, key="sk-the-server-expects-another-key-00") as srv:  # 401 echoing the key it was given
        port = srv.url.split(":")[2].split("/")[0]
        url = f"http://judge:{PASSWORD}@127.0.0.1:{port}/v1?api-key={QSECRET}"
        r = _run("curate", "--stages", "decontam", "--benchmarks-dir", bench, "--decontam-judge-model", "fake",
                 "--decontam-judge-url", url, "-w", ws.root, "--quiet", env={"OPENAI_API_KEY": KEY})
        assert srv.log
    assert r.returncode == 2 and f"LLM judge at http://127.0.0.1:{port}/v1 refused" in r.err
    with ws.reader() as cat:
        job = cat.fetch("SELECT status, error, CAST(args AS VARCHAR) FROM jobs WHERE command = 'curate'")[0]
    assert job[0] == "failed" and "refused" in job[1] and "***" in job[2]
    _no_secret_in(ws.root, r.stdout, r.stderr, *job[1:])


def test_generate_args_and_journal_store_no_url_secret(ws, shared_data, tmp_path):
    rows = _aime(shared_data, 2)
    pfile = tmp_path / "p.jsonl"
    pfile.write_text("".join(json.dumps({"id": x["id"], "problem": x["problem"], "answer": x["answer"]}) + "\n"
                             for x in rows))
    with FakeOpenAI({x["problem"]: x["answer"] for x in rows}) as srv:
        port = srv.url.split(":")[2].split("/")[0]
        url = f"http://gen:{PASSWORD}@127.0.0.1:{port}/v1?api-key={QSECRET}"
        r = _run("generate", "--problems", pfile, "--endpoint", url, "--model", "fake-r1", "-w", ws.root, "--quiet",
                 "--debug", env={"OPENAI_API_KEY": KEY})
    assert r.returncode == 0, r.stderr[-2000:]
    with ws.reader() as cat:
        args = cat.fetch("SELECT CAST(args AS VARCHAR) FROM jobs WHERE command = 'generate'")[0][0]
        endpoints = {x[0] for x in cat.fetch("SELECT endpoint FROM gen_requests")}
        descr = cat.fetch("SELECT description FROM sources WHERE source = 'gen:fake-r1'")[0][0]
    assert "http://***@127.0.0.1" in args and "api-key=***" in args
    assert endpoints == {f"http://127.0.0.1:{port}/v1"} and descr == f"fake-r1 via http://127.0.0.1:{port}/v1"
    _no_secret_in(ws.root, r.stdout, r.stderr)
