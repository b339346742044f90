"""Hybrid retrieval: dense vectors and BM25 keywords, fused, filtered and diversified."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from .embedding import Embedder, canonical_model_name, get_embedder
from .language import analyze, query_languages
from .stores import ChunkRecord, Index

RRF_K = 60
CANDIDATES = 50
PER_DOC_CAP = 3
_IDENTIFIER = re.compile(r"\d|§|[A-ZÆØÅÄÖ]{2,}")


@dataclass(frozen=True)
class Filters:
    """Which documents a search may return."""

    lang: str | None = None
    type: str | None = None
    since: str | None = None
    until: str | None = None
    source: str | None = None

    def active(self) -> bool:
        """True when any filter is set."""
        return any((self.lang, self.type, self.since, self.until, self.source))

    def describe(self) -> str:
        """The filters as `key=value` words."""
        return " ".join(f"{k}={v}" for k, v in self.__dict__.items() if v)


@dataclass
class Hit:
    """A retrieved chunk with its fused score and the scores of each channel."""

    chunk: ChunkRecord
    score: float
    dense: float | None = None
    keyword: float | None = None
    rank: int = 0
    channels: list[str] = field(default_factory=list)


def keyword_weight(question: str) -> float:
    """How much to trust the keyword channel for this question (identifiers and numbers: more)."""
    return 1.0 if _IDENTIFIER.search(question) else 0.6


class Retriever:
    """Searches one index with one embedding model."""

    def __init__(self, index: Index, embed_spec: str, embedder: Embedder | None = None) -> None:
        self.index = index
        index.check_model(canonical_model_name(embed_spec))
        index.require_documents()
        index.vectors.bind_model(embed_spec)
        self._spec = embed_spec
        self._embedder = embedder

    @property
    def embedder(self) -> Embedder:
        """The query embedder (loaded on first use)."""
        if self._embedder is None:
            self._embedder = get_embedder(self._spec)
        return self._embedder

    def allowed_docs(self, filters: Filters | None) -> list[str] | None:
        """The doc ids a filtered search may return, or None for all."""
        if filters is None or not filters.active():
            return None
        return self.index.manifest.filter_doc_ids(
            filters.lang, filters.type, filters.since, filters.until, filters.source
        )

    def dense(self, question: str, k: int, docs: list[str] | None = None) -> list[tuple[str, float]]:
        """Nearest chunks by cosine similarity of e5 vectors."""
        qvec = self.embedder.embed_query(question)
        self._last_qvec = qvec
        return self.index.vectors.query(qvec, k, docs)

    def keyword(self, question: str, k: int, docs: list[str] | None = None) -> list[tuple[str, float]]:
        """Best chunks by BM25 over stemmed terms, the question analysed in its language(s)."""
        terms = analyze(question, query_languages(question))
        allowed = None
        if docs is not None:
            allowed = {cid for d in docs for cid in self._chunk_ids_of(d)}
        return self.index.keyword.search(terms, k, allowed)

    def _chunk_ids_of(self, doc_id: str) -> list[str]:
        return [c.id for c in self.index.manifest.chunks_of(doc_id)]

    def search(
        self, question: str, k: int = 10, filters: Filters | None = None, mode: str = "hybrid"
    ) -> list[Hit]:
        """The k best chunks for a question."""
        docs = self.allowed_docs(filters)
        if docs is not None and not docs:
            return []
        n = max(CANDIDATES, 3 * k)
        dense = self.dense(question, n, docs) if mode in ("hybrid", "dense") else []
        kw = self.keyword(question, n, docs) if mode in ("hybrid", "keyword") else []
        wk = keyword_weight(question) if mode == "hybrid" else 1.0
        fused: dict[str, float] = {}
        dense_s = dict(dense)
        kw_s = dict(kw)
        for r, (cid, _) in enumerate(dense):
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + r + 1)
        for r, (cid, _) in enumerate(kw):
            fused[cid] = fused.get(cid, 0.0) + wk / (RRF_K + r + 1)
        order = sorted(fused, key=lambda c: -fused[c])
        chunks = self.index.manifest.chunks_by_ids(order[: max(4 * k, 40)])
        hits = [
            Hit(chunks[c], fused[c], dense_s.get(c), kw_s.get(c),
                channels=[ch for ch, s in (("dense", dense_s), ("keyword", kw_s)) if c in s])
            for c in order
            if c in chunks
        ]
        hits = diversify(hits, k)
        self._fill_dense(hits)
        for i, h in enumerate(hits):
            h.rank = i + 1
        return hits

    def _fill_dense(self, hits: list[Hit]) -> None:
        """Give every hit its dense similarity (keyword-only hits lack one)."""
        missing = [h for h in hits if h.dense is None]
        if not missing or getattr(self, "_last_qvec", None) is None:
            return
        vecs = self.index.vectors.get_vectors([h.chunk.id for h in missing])
        for h in missing:
            v = vecs.get(h.chunk.id)
            if v is not None:
                h.dense = float(np.dot(v, self._last_qvec))


def diversify(hits: list[Hit], k: int, cap: int = PER_DOC_CAP) -> list[Hit]:
    """The top k with at most `cap` chunks of one document (others fill in if too few)."""
    out: list[Hit] = []
    per: dict[str, int] = {}
    rest: list[Hit] = []
    for h in hits:
        if per.get(h.chunk.doc_id, 0) < cap:
            out.append(h)
            per[h.chunk.doc_id] = per.get(h.chunk.doc_id, 0) + 1
        else:
            rest.append(h)
        if len(out) >= k:
            return out
    return (out + rest)[:k]
