"""Generation backends: vLLM's offline engine, any OpenAI-compatible server, transformers on CPU/GPU.

Each backend turns chat prompts into n sampled completions (`generate`) and continues raw text greedily
(`complete`, used by s1-style budget forcing). Per-request failures become samples with an `error`, never
an exception, so one bad request does not lose a run."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from distillate.endpoint import EndpointConfig, refusal
from distillate.errors import DistillateError, require
from distillate.log import log, progress
from distillate.redact import redact

BACKENDS = ("vllm", "openai", "transformers")


@dataclass
class Generation:
    text: str
    n_tokens: int | None          # output tokens (None: unknown, counted later with the tokenizer)
    finish_reason: str | None     # stop | length
    error: str | None = None
    reasoning_tokens: int | None = None   # from the server's usage (openai backend), per sample
    hidden_reasoning_tokens: int = 0      # of those, billed but not returned (o1-style): not in `text`


@dataclass
class SamplingConfig:
    n: int = 1                    # samples per problem
    max_tokens: int = 32768       # generation cap per sample
    temperature: float = 0.0      # 0: greedy (n > 1 then needs temperature > 0 to differ)
    top_p: float = 1.0
    seed: int = 0


def load_tokenizer(name: str):
    transformers = require("transformers", "hf")
    try:
        return transformers.AutoTokenizer.from_pretrained(name)
    except (OSError, ValueError) as e:
        raise DistillateError(f"cannot load tokenizer {name!r}: {str(e).splitlines()[0]}") from e


class TransformersBackend:
    """model.generate in batches (left padding); for small models on CPU, or a GPU without vLLM."""

    name = "transformers"

    def __init__(self, model: str, tokenizer: str | None = None, batch_size: int = 8, device: str | None = None):
        transformers = require("transformers", "hf")
        self.torch = require("torch", "train")
        self.tokenizer = load_tokenizer(tokenizer or model)
        self.tokenizer.padding_side = "left"
        if self.tokenizer.pad_token is None:
            self.tokenizer.pad_token = self.tokenizer.eos_token
        self.device = device or ("cuda" if self.torch.cuda.is_available() else "cpu")
        try:
            self.model = transformers.AutoModelForCausalLM.from_pretrained(model, dtype="auto").to(self.device)
        except (OSError, ValueError) as e:
            raise DistillateError(f"cannot load model {model!r}: {str(e).splitlines()[0]}") from e
        self.model.eval()
        self.batch_size = batch_size
        self.stop_ids = {self.tokenizer.eos_token_id, self.tokenizer.pad_token_id}
        gen_eos = self.model.generation_config.eos_token_id
        self.stop_ids |= set(gen_eos if isinstance(gen_eos, list) else [gen_eos])
        self.stop_ids.discard(None)

    def render(self, messages: list[dict]) -> str:
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def _generate_texts(self, texts: list[str], max_tokens: int, n: int, sampling: SamplingConfig | None):
        torch = self.torch
        enc = self.tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False).to(self.device)
        kw = {"max_new_tokens": max_tokens, "num_return_sequences": n, "pad_token_id": self.tokenizer.pad_token_id}
        if sampling is not None and sampling.temperature > 0:
            kw.update(do_sample=True, temperature=sampling.temperature, top_p=sampling.top_p)
        else:
            kw.update(do_sample=False)
        with torch.no_grad():
            out = self.model.generate(**enc, **kw)
        new = out[:, enc["input_ids"].shape[1]:].tolist()
        res = []
        for ids in new:
            end = next((i for i, t in enumerate(ids) if t in self.stop_ids), None)
            kept = ids if end is None else ids[:end]
            res.append(Generation(self.tokenizer.decode(kept, skip_special_tokens=True), len(kept),
                                  "length" if end is None else "stop"))
        return [res[i * n:(i + 1) * n] for i in range(len(texts))]

    def generate(self, prompts: list[list[dict]], sampling: SamplingConfig, show_progress: bool = True):
        self.torch.manual_seed(sampling.seed)
        texts = [self.render(m) for m in prompts]
        out: list[list[Generation]] = []
        with progress(disable=not show_progress) as bar:
            task = bar.add_task("generating", total=len(texts), info=f"n={sampling.n}")
            for i in range(0, len(texts), self.batch_size):
                chunk = texts[i:i + self.batch_size]
                try:
                    out.extend(self._generate_texts(chunk, sampling.max_tokens, sampling.n, sampling))
                except RuntimeError as e:  # e.g. out of memory: record, go on
                    log.warning("generation failed for %d prompts: %s", len(chunk), e)
                    out.extend([[Generation("", 0, None, f"{type(e).__name__}: {e}")] * sampling.n for _ in chunk])
                bar.advance(task, len(chunk))
        return out

    def complete(self, texts: list[str], max_tokens: int) -> list[str]:
        out = []
        for i in range(0, len(texts), self.batch_size):
            out.extend(g[0].text for g in self._generate_texts(texts[i:i + self.batch_size], max_tokens, 1, None))
        return out


class VLLMBackend:
    """vLLM's offline engine (extra `vllm`, needs a GPU)."""

    name = "vllm"

    def __init__(self, model: str, tokenizer: str | None = None, **engine_kw):
        vllm = require("vllm", "vllm")
        self.vllm = vllm
        self.llm = vllm.LLM(model=model, tokenizer=tokenizer or model, **engine_kw)
        self.tokenizer = self.llm.get_tokenizer()

    def render(self, messages: list[dict]) -> str:
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def generate(self, prompts: list[list[dict]], sampling: SamplingConfig, show_progress: bool = True):
        params = self.vllm.SamplingParams(n=sampling.n, max_tokens=sampling.max_tokens, temperature=sampling.temperature,
                                          top_p=sampling.top_p, seed=sampling.seed)
        outs = self.llm.generate([self.render(m) for m in prompts], params, use_tqdm=show_progress)
        return [[Generation(c.text, len(c.token_ids), c.finish_reason) for c in o.outputs] for o in outs]

    def complete(self, texts: list[str], max_tokens: int) -> list[str]:
        params = self.vllm.SamplingParams(n=1, max_tokens=max_tokens, temperature=0.0)
        return [o.outputs[0].text for o in self.llm.generate(texts, params, use_tqdm=False)]


class OpenAIBackend:
    """Any OpenAI-compatible server (`vllm serve`, SGLang, a hosted API), through the one endpoint configuration
    (distillate/endpoint.py: key from $api_key_env, model family rules). Chat completions for sampling, text
    completions (with the tokenizer's chat template) for budget forcing.

    Reasoning models (o-series, gpt-5, --reasoning-model) get max_completion_tokens and no sampling
    parameters; their hidden reasoning tokens (usage.completion_tokens_details) count as output tokens. A
    returned reasoning (`reasoning_content` / `reasoning`) is kept in the response between <think> tags. A 400
    refusing a parameter stops the run with one message saying how to fix it."""

    name = "openai"

    def __init__(self, ep: EndpointConfig, tokenizer=None, concurrency: int = 8):
        self.ep = ep
        self.model = ep.model
        self.client = ep.client()
        self.tokenizer = tokenizer
        self.concurrency = concurrency
        self.endpoint = ep.public_endpoint
        self.refused: str | None = None  # the first refusal of a parameter: nothing else is sent

    def render(self, messages: list[dict]) -> str:
        if self.tokenizer is None:
            raise DistillateError("budget forcing with the openai backend needs --tokenizer (for the chat template)")
        return self.tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)

    def _one(self, messages: list[dict], sampling: SamplingConfig) -> list[Generation]:
        gens: list[Generation] = []
        try:
            while len(gens) < sampling.n:  # servers may return fewer choices than asked: ask again
                if self.refused:
                    raise RuntimeError("not sent: the model refused a parameter")
                r = self.client.chat.completions.create(**self.ep.chat_kwargs(
                    messages, max_tokens=sampling.max_tokens, temperature=sampling.temperature, top_p=sampling.top_p,
                    seed=sampling.seed + len(gens), n=sampling.n - len(gens)))
                if not r.choices:
                    raise RuntimeError("the server returned no choices")
                k = len(r.choices)
                per = (r.usage.completion_tokens // k) if r.usage and self.tokenizer is None else None
                details = getattr(r.usage, "completion_tokens_details", None) if r.usage else None
                rtok = getattr(details, "reasoning_tokens", None) if details is not None else None
                for c in r.choices:
                    text = c.message.content or ""
                    reasoning = getattr(c.message, "reasoning_content", None) or getattr(c.message, "reasoning", None)
                    if reasoning:  # servers with a reasoning parser split the thought out: put it back
                        text = f"<think>\n{reasoning}\n</think>\n\n{text}"
                    gens.append(Generation(text, per, c.finish_reason, reasoning_tokens=None if rtok is None else rtok // k,
                                           hidden_reasoning_tokens=0 if reasoning or not rtok else rtok // k))
        except Exception as e:  # noqa: BLE001 - one failed request is recorded, the run goes on
            refused = refusal(e)
            if refused is not None and self.refused is None:
                self.refused = self.ep.refusal_message(*refused)
            err = redact(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
            gens += [Generation("", 0, None, err)] * (sampling.n - len(gens))
        return gens

    def generate(self, prompts: list[list[dict]], sampling: SamplingConfig, show_progress: bool = True):
        out: list[list[Generation] | None] = [None] * len(prompts)
        with ThreadPoolExecutor(self.concurrency) as pool, progress(disable=not show_progress) as bar:
            task = bar.add_task("requests", total=len(prompts), info=self.endpoint or "")
            futs = {pool.submit(self._one, m, sampling): i for i, m in enumerate(prompts)}
            for f in futs:
                out[futs[f]] = f.result()
                bar.advance(task)
        if self.refused:
            raise DistillateError(f"stopped: {self.refused}")
        return out

    def complete(self, texts: list[str], max_tokens: int) -> list[str]:
        def one(t):
            try:
                r = self.client.completions.create(model=self.model, prompt=t, max_tokens=max_tokens, temperature=0.0)
                return r.choices[0].text or ""
            except Exception as e:  # noqa: BLE001 - a failed forcing continuation scores as no answer
                log.warning("budget forcing request failed: %s", e)
                return ""

        with ThreadPoolExecutor(self.concurrency) as pool:
            return list(pool.map(one, texts))


def make_backend(backend: str, model: str, endpoint: str | None = None, tokenizer: str | None = None,
                 batch_size: int = 8, concurrency: int = 8, *, ep: EndpointConfig | None = None):
    """`ep`: the endpoint configuration of the openai backend (default: `endpoint`, $OPENAI_API_KEY)."""
    if backend == "transformers":
        return TransformersBackend(model, tokenizer, batch_size=batch_size)
    if backend == "vllm":
        return VLLMBackend(model, tokenizer)
    if backend == "openai":
        ep = ep or EndpointConfig(model=model, endpoint=endpoint, timeout=600.0, max_retries=3)
        if not ep.endpoint:
            raise DistillateError("--backend openai needs --endpoint URL (e.g. http://127.0.0.1:8000/v1)")
        ep.api_key()  # a missing key fails before the tokenizer loads
        tok = load_tokenizer(tokenizer) if tokenizer else _try_tokenizer(model)
        return OpenAIBackend(ep, tok, concurrency=concurrency)
    raise DistillateError(f"unknown backend {backend!r}; choose one of {', '.join(BACKENDS)}")


def _try_tokenizer(model: str):
    """The served model's tokenizer when it loads (a local path, or a cached Hub id); else None."""
    try:
        return load_tokenizer(model)
    except DistillateError as e:
        log.info("no tokenizer for %s (%s): output tokens come from the server's usage counts", model, e)
        return None
