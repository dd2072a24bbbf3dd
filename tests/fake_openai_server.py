"""A local OpenAI-compatible chat-completions server for fault-injection tests (a test double, nothing more).

Real HTTP on 127.0.0.1 (a thread of the test process). It answers /v1/chat/completions streaming and
non-streaming, with the reasoning in one of the shapes teachers use (`style`):

    "reasoning_content"  DeepSeek-R1 / older vLLM reasoning parsers: message.reasoning_content
    "reasoning"          newer vLLM reasoning parsers: message.reasoning
    "think"              <think>...</think> in the content (no parser)
    "hidden"             an o1-class reasoning model (also `reasoning_model=True`): the reasoning is never
                         returned, only billed in usage.completion_tokens_details.reasoning_tokens (x1/x2/x3
                         for reasoning_effort low/medium/high, default medium); `max_tokens`, `temperature`
                         and `top_p` are refused with OpenAI's 400 `unsupported_parameter` error; the cap is
                         max_completion_tokens, reasoning included (a cap under the hidden reasoning gives
                         finish_reason=length and no visible text). A prompt that asks for <think> gets its
                         long thought written out visibly in the content.

and injects faults chosen per request by `faults(request_id, n_seen) -> name | None` (n_seen = earlier
requests with that id):

    "429"        429 + Retry-After (or retry-after-ms)         "500"        500 with a masked key in the body
    "timeout"    holds the connection `hang` s, no response      "malformed"  200 with a broken JSON body
    "length"     finish_reason=length (truncated thought)        "400"        a non-retryable bad request
    "stream_garbage"  a stream whose events are not JSON         "echo"       400 echoing the Authorization header

`length_needed(request_id) -> tokens | None` makes a response truncated whenever max_tokens is below it
(for the --on-length retry policy). The request id is the X-Distillate-Request-Id header the client sends.
`log` holds every request (id, attempt, time, fault, status, model, usage of billed responses) for the assertions.

Scripted replies: `chat(messages) -> (reasoning, content) | None` answers a conversation as the test wrote it
(None: the default answer), e.g. a model that holds or flips under a multi-turn pushback. Judge mode: requests
for `judge_model` are answered by `judge(prompt) -> (score, rationale) | str`: a JSON verdict
{"score", "rationale"}, or the string as the raw reply (an unreadable verdict)."""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable



def last_boxed(text: str) -> str | None:
    """The content of the last \\boxed{...}, nested braces included."""
    i = text.rfind("\\boxed{")
    if i < 0:
        return None
    depth, j = 0, i + len("\\boxed{") - 1
    for k in range(j, len(text)):
        depth += {"{": 1, "}": -1}.get(text[k], 0)
        if depth == 0:
            return text[j + 1:k]
    return None


def _h(s: str) -> int:
    return int(hashlib.sha256(s.encode()).hexdigest()[:8], 16)


def tokens(text: str) -> int:
    return max(1, len(text) // 4)


class FakeOpenAI:
    def __init__(self, answers: dict[str, str], *, style: str = "reasoning_content", key: str | None = None,
                 faults: Callable[[str, int], str | None] | None = None,
                 length_needed: Callable[[str], int | None] | None = None, delay: float = 0.0,
                 hang: float = 3.0, wrong: Callable[[str], bool] | None = None, retry_after: str = "1",
                 reformat_fault: Callable[[str], str | None] | None = None, thought_words: int = 60,
                 chat: Callable[[list[dict]], tuple[str | None, str] | None] | None = None,
                 judge_model: str | None = None, judge: Callable[[str], tuple[int, str] | str] | None = None,
                 reasoning_model: bool = False):
        self.answers = answers                   # problem text -> reference answer
        self.style = "hidden" if reasoning_model else style  # reasoning_content | reasoning | think | hidden
        self.key = key                           # expected bearer key (401 echoing the given key otherwise)
        self.faults = faults or (lambda rid, n: None)
        self.length_needed = length_needed or (lambda rid: None)
        self.delay, self.hang, self.retry_after = delay, hang, retry_after
        self.wrong = wrong or (lambda rid: False)    # answer this request wrongly
        self.reformat_fault = reformat_fault or (lambda rid: None)  # wrong_answer | short
        self.thought_words = thought_words
        self.chat = chat                         # scripted conversation replies
        self.judge_model, self.judge = judge_model, judge  # judge mode
        self.lock = threading.Lock()
        self.log: list[dict] = []
        self.seen: Counter = Counter()
        self.httpd: ThreadingHTTPServer | None = None

    # -- lifecycle ---------------------------------------------------------------------------
    def start(self) -> str:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):  # keep test output clean
                pass

            def do_POST(self):
                server._handle(self)

        class Server(ThreadingHTTPServer):
            request_queue_size = 128  # the default backlog (5) refuses connections under a burst of clients

        self.httpd = Server(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"

    def stop(self) -> None:
        if self.httpd is not None:
            self.httpd.shutdown()
            self.httpd.server_close()

    def __enter__(self):
        self.url = self.start()
        return self

    def __exit__(self, *exc):
        self.stop()

    # -- views for assertions ----------------------------------------------------------------
    def ok(self) -> list[dict]:
        """Billed responses (a complete 200 answer was written)."""
        with self.lock:
            return [e for e in self.log if e.get("usage")]

    def billed_tokens(self) -> tuple[int, int]:
        ok = self.ok()
        return sum(e["usage"]["prompt_tokens"] for e in ok), sum(e["usage"]["completion_tokens"] for e in ok)

    # -- the model ---------------------------------------------------------------------------
    def _answer_for(self, text: str) -> tuple[str | None, str | None]:
        for problem, ans in self.answers.items():
            if problem in text:
                return problem, ans
        return None, None

    def _generate(self, rid: str, user: str) -> tuple[str, str]:
        """(reasoning, final content) for a request."""
        if "Original solution:" in user:
            original = user.split("Original solution:", 1)[1].strip()
            ans = last_boxed(original) or self._answer_for(user)[1] or "0"
            fault = self.reformat_fault(rid)
            if fault == "short":
                return "Fine.", f"\\boxed{{{ans}}}"
            if fault == "wrong_answer":
                ans = f"{ans}+1"
            thought = ("Let me restate what is asked and work through the original argument carefully. "
                       + original + " Let me double-check each step again: it holds. ")
            return thought, f"Therefore the final answer is \\boxed{{{ans}}}."
        _, ans = self._answer_for(user)
        ans = ans if ans is not None else "0"
        if self.wrong(rid):
            ans = f"{ans}+1"
        words = " ".join(f"step{i} checks out." for i in range(self.thought_words))
        return f"Let me think about this step by step (draft {rid[-6:]}). {words} So the answer is {ans}.", \
            f"The answer is \\boxed{{{ans}}}."

    # -- HTTP --------------------------------------------------------------------------------
    def _send_json(self, h, status: int, obj, headers: dict | None = None) -> None:
        body = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
        h.send_response(status)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        h.end_headers()
        h.wfile.write(body)

    def _handle(self, h) -> None:
        n = int(h.headers.get("Content-Length") or 0)
        body = json.loads(h.rfile.read(n) or b"{}")
        rid = h.headers.get("X-Distillate-Request-Id") or "?"
        with self.lock:
            n_seen = self.seen[rid]
            self.seen[rid] += 1
        entry = {"rid": rid, "attempt": h.headers.get("X-Distillate-Attempt"), "t": time.time(), "model": body.get("model"),
                 "stream": bool(body.get("stream")), "max_tokens": body.get("max_tokens"), "n_seen": n_seen,
                 "max_completion_tokens": body.get("max_completion_tokens"), "model": body.get("model"),
                 "params": sorted(k for k in body if k not in ("messages", "model", "stream")),
                 "reasoning_effort": body.get("reasoning_effort"), "fault": None, "status": None, "usage": None}
        with self.lock:
            self.log.append(entry)
        given = (h.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        if self.key is not None and given != self.key:
            entry["status"] = 401
            return self._send_json(h, 401, {"error": {"message": f"Incorrect API key provided: {given}",
                                                      "type": "invalid_request_error"}})
        if self.style == "hidden":
            for param in ("max_tokens", "temperature", "top_p"):  # OpenAI's answer to these, word for word
                if param in body:
                    entry["status"] = 400
                    fix = " Use 'max_completion_tokens' instead." if param == "max_tokens" else ""
                    return self._send_json(h, 400, {"error": {
                        "message": f"Unsupported parameter: '{param}' is not supported with this model.{fix}",
                        "type": "invalid_request_error", "param": param, "code": "unsupported_parameter"}})
        if self.delay:
            time.sleep(self.delay)
        fault = self.faults(rid, n_seen)
        entry["fault"] = fault
        if fault == "echo":  # some servers echo the request's headers in their errors
            entry["status"] = 400
            return self._send_json(h, 400, {"error": {
                "message": f"invalid request (headers: Authorization: {h.headers.get('Authorization')}, "
                           f"Host: {h.headers.get('Host')})", "type": "invalid_request_error"}})
        if fault == "429":
            entry["status"] = 429
            hdr = {"retry-after-ms": "300"} if self.retry_after == "ms" else {"Retry-After": self.retry_after}
            return self._send_json(h, 429, {"error": {"message": "Rate limit reached", "type": "rate_limit"}}, hdr)
        if fault == "500":
            entry["status"] = 500
            masked = f"{given[:12]}...{given[-4:]}" if len(given) > 16 else "?"
            return self._send_json(h, 500, {"error": {"message": f"upstream failure for key {given}"
                                                      f" ({masked})", "type": "server_error"}})
        if fault == "400":
            entry["status"] = 400
            return self._send_json(h, 400, {"error": {"message": "bad request: prompt too long", "type": "invalid"}})
        if fault == "timeout":
            entry["status"] = "hang"
            time.sleep(self.hang)
            h.close_connection = True
            return
        if fault == "malformed":
            entry["status"] = 200
            return self._send_json(h, 200, b'{"id": "x", "choices": [{"message": {"content": "trunc')
        user = "\n".join(m.get("content") or "" for m in body.get("messages", []))
        scripted = None
        if self.judge_model is not None and body.get("model") == self.judge_model:
            verdict = self.judge(user)
            scripted = (None, verdict if isinstance(verdict, str)
                        else json.dumps({"score": verdict[0], "rationale": verdict[1]}))
        elif self.chat is not None:
            scripted = self.chat(body.get("messages", []))
        reasoning, content = scripted if scripted is not None else self._generate(rid, user)
        max_tokens = body.get("max_tokens") or body.get("max_completion_tokens") or 10 ** 9
        need = self.length_needed(rid)
        finish = "stop"
        hidden = 0
        if self.style == "hidden":
            hidden = tokens(reasoning) * {"low": 1, "medium": 2, "high": 3}[body.get("reasoning_effort") or "medium"]
            if "<think>" in user:  # asked to write its whole thinking out: it does, visibly
                content = (f"<think>\nLet me restate the problem and explore. {reasoning} Wait, let me verify "
                           f"that by substituting back: it holds.\n</think>\n\n{content}")
            reasoning = None
            if fault == "length" or hidden + tokens(content) > max_tokens:
                finish = "length"
                content = "" if hidden >= max_tokens else content[: 4 * (max_tokens - hidden)]
        elif fault == "length" or (need is not None and max_tokens < need):
            finish = "length"
            reasoning, content = (reasoning or "")[: max(8, len(reasoning or "") // 2)], ""
        if self.style == "think" and reasoning is not None:
            content = f"<think>\n{reasoning}\n</think>\n\n{content}" if finish == "stop" else f"<think>\n{reasoning}"
            reasoning = None
        usage = {"prompt_tokens": tokens(user), "completion_tokens": hidden + tokens((reasoning or "") + content),
                 "total_tokens": 0,
                 "completion_tokens_details": {"reasoning_tokens": hidden or (tokens(reasoning) if reasoning else 0)}}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        model = body.get("model")
        if not body.get("stream"):
            msg = {"role": "assistant", "content": content}
            if reasoning is not None:
                msg["reasoning" if self.style == "reasoning" else "reasoning_content"] = reasoning
            entry["status"] = 200
            self._send_json(h, 200, {"id": f"chatcmpl-{rid[:8]}-{n_seen}", "object": "chat.completion",
                                     "created": int(time.time()), "model": model,
                                     "choices": [{"index": 0, "message": msg, "finish_reason": finish}],
                                     "usage": usage})
            entry["usage"] = usage
            return
        h.send_response(200)
        h.send_header("Content-Type", "text/event-stream")
        h.end_headers()

        def event(obj) -> None:
            h.wfile.write(b"data: " + (obj if isinstance(obj, bytes) else json.dumps(obj).encode()) + b"\n\n")
            h.wfile.flush()

        base = {"id": f"chatcmpl-{rid[:8]}-{n_seen}", "object": "chat.completion.chunk", "created": int(time.time()),
                "model": model}
        if fault == "stream_garbage":
            event(b"{this is not json")
            entry["status"] = 200
            h.close_connection = True
            return
        event({**base, "choices": [{"index": 0, "delta": {"role": "assistant"}, "finish_reason": None}]})
        for field, text in (("reasoning" if self.style == "reasoning" else "reasoning_content", reasoning),
                            ("content", content)):
            for i in range(0, len(text or ""), 200):
                event({**base, "choices": [{"index": 0, "delta": {field: text[i:i + 200]}, "finish_reason": None}]})
        event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": finish}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            event({**base, "choices": [], "usage": usage})
        h.wfile.write(b"data: [DONE]\n\n")
        h.wfile.flush()
        entry["status"] = 200
        entry["usage"] = usage
        h.close_connection = True


def hashed(rid: str, mod: int, bucket: int) -> bool:
    """A deterministic share of request ids (1/mod of them), for fault plans."""
    return _h(rid) % mod == bucket
