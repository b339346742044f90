"""The BM25 keyword index over chunk terms, saved as numpy arrays beside the manifest."""

from __future__ import annotations

import json
import os
import shutil
from array import array
from collections import defaultdict
from collections.abc import Iterable, Sequence
from pathlib import Path

import numpy as np

KEYWORD_DIR = "keyword"
BM25_K1 = 1.2
BM25_B = 0.75


class KeywordIndex:
    """BM25 over chunk terms, saved beside the manifest and tagged with its generation.

    Built at ingest with numpy (bm25s's Lucene BM25) and saved as precomputed scores in CSC arrays, in
    bm25s's layout; queries read those arrays with numpy alone.
    """

    def __init__(
        self, ids: list[str], vocab: dict[str, int], csc: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
        generation: int, terms: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        self.ids = ids
        self.vocab = vocab
        self.csc = csc  # (data, indices, indptr): column t holds the BM25 score of term t in each chunk
        self.terms = terms  # (term ids of every chunk end to end, terms per chunk): what update() starts from
        self._positions: dict[str, int] | None = None
        self._last: tuple[tuple[str, ...], np.ndarray | None] | None = None  # the last query's scores
        self.generation = generation

    @classmethod
    def build(cls, rows: Iterable[tuple[str, list[str]]], generation: int) -> KeywordIndex:
        """Index chunk terms with BM25 (bm25s's default: Lucene idf, k1 1.2, b 0.75; equal scores, tested).

        Built with numpy from one flat array of term ids, so memory stays a few bytes per term (bm25s
        itself holds every term as a Python string and list: about 1.6 GB at 100k chunks) and a re-index
        after a small change stays fast.
        """
        ids: list[str] = []
        vocab: defaultdict[str, int] = defaultdict()
        vocab.default_factory = vocab.__len__  # a new term gets the next id
        flat = array("i")
        lengths = array("i")
        for cid, terms in rows:
            ids.append(cid)
            flat.extend(map(vocab.__getitem__, terms))
            lengths.append(len(terms))
        return cls._from_terms(ids, dict(vocab), _int32(flat), _int32(lengths), generation)

    @classmethod
    def update(cls, old: KeywordIndex, ids: list[str], fresh: dict[str, list[str]], generation: int) -> KeywordIndex:
        """The index after a change: `ids` in order, terms from `old` except the `fresh` chunks' (new or re-read).

        Equal to a full build (same vocabulary, same scores) without reading every chunk's terms again.
        """
        assert old.terms is not None
        flat_old, len_old = old.terms
        off_old = np.zeros(len(len_old) + 1, dtype=np.int64)
        np.cumsum(len_old, out=off_old[1:])
        pos = {cid: i for i, cid in enumerate(old.ids)}
        vocab = dict(old.vocab)
        extra = array("i")
        start = np.empty(len(ids), dtype=np.int64)  # where each chunk's terms start in old terms + extra
        lens = np.empty(len(ids), dtype=np.int64)
        for i, cid in enumerate(ids):
            terms = fresh.get(cid)
            if terms is None:
                r = pos[cid]
                start[i], lens[i] = off_old[r], len_old[r]
            else:
                start[i], lens[i] = len(flat_old) + len(extra), len(terms)
                extra.extend(vocab.setdefault(t, len(vocab)) for t in terms)
        source = np.concatenate([np.asarray(flat_old, dtype=np.int32), _int32(extra)])
        flat = source[np.repeat(start - (np.cumsum(lens) - lens), lens) + np.arange(int(lens.sum()))]
        used = np.bincount(flat, minlength=len(vocab)) > 0
        if not used.all():  # terms no chunk holds any more leave the vocabulary, as in a full build
            new_id = np.cumsum(used) - 1
            flat = new_id[flat].astype(np.int32)
            vocab = {t: int(new_id[i]) for t, i in vocab.items() if used[i]}
        return cls._from_terms(ids, vocab, flat, lens.astype(np.int32), generation)

    @classmethod
    def _from_terms(
        cls, ids: list[str], vocab: dict[str, int], flat: np.ndarray, lengths: np.ndarray, generation: int
    ) -> KeywordIndex:
        """BM25 scores from every chunk's term ids laid end to end (`lengths` terms per chunk)."""
        if not ids:
            return cls(ids, {}, None, generation)
        n = len(ids)
        lens = lengths.astype(np.float64)
        doc = np.repeat(np.arange(n, dtype=np.int64), lengths.astype(np.int64))
        # (term, chunk) pairs sorted term-major: each term's column in CSC order, with its term frequency
        pair, tf = np.unique(flat.astype(np.int64) * n + doc, return_counts=True)
        term, chunk = pair // n, pair % n
        df = np.bincount(term, minlength=len(vocab))
        idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
        norm = BM25_K1 * (1 - BM25_B + BM25_B * lens[chunk] / max(lens.mean(), 1e-9))
        data = (idf[term] * (tf / (norm + tf))).astype(np.float32)
        indptr = np.concatenate([[0], np.cumsum(df)]).astype(np.int64)
        return cls(ids, vocab, (data, chunk.astype(np.int32), indptr), generation, (flat, lengths))

    def save(self, directory: Path) -> None:
        """Write the index next to the manifest, replacing the old one in one rename."""
        tmp = directory.with_name(directory.name + f".tmp-{os.getpid()}")
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        if self.ids:  # the score matrix in the files and layout bm25s uses
            for name, arr in zip(("data", "indices", "indptr"), self.csc):
                np.save(tmp / f"{name}.csc.index.npy", arr)
            if self.terms is not None:
                np.save(tmp / "terms.npy", self.terms[0])
                np.save(tmp / "lengths.npy", self.terms[1])
            (tmp / "vocab.index.json").write_text(json.dumps(self.vocab, ensure_ascii=False))
        (tmp / "ids.json").write_text(json.dumps({"generation": self.generation, "ids": self.ids}))
        _swap_dir(tmp, directory)

    @staticmethod
    def saved_generation(directory: Path) -> int | None:
        """The manifest generation the saved index was built for, or None when there is none."""
        try:
            return int(json.loads((directory / "ids.json").read_text())["generation"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    @classmethod
    def load(cls, directory: Path, with_terms: bool = False) -> KeywordIndex | None:
        """The saved index, or None when it is missing or unreadable (numpy only, no bm25s).

        with_terms also reads the chunks' term ids for update() (None there when an older index lacks them).
        """
        try:
            meta = json.loads((directory / "ids.json").read_text())
            ids = meta["ids"]
            if not ids:
                return cls([], {}, None, int(meta["generation"]))
            vocab = json.loads((directory / "vocab.index.json").read_text(encoding="utf-8"))
            csc = tuple(np.load(directory / f"{n}.csc.index.npy", mmap_mode="r") for n in ("data", "indices", "indptr"))
            terms = None
            if with_terms and (directory / "terms.npy").exists():
                terms = (np.load(directory / "terms.npy", mmap_mode="r"), np.load(directory / "lengths.npy"))
                if len(terms[1]) != len(ids) or len(terms[0]) != int(terms[1].sum()):
                    terms = None
            return cls(ids, vocab, csc, int(meta["generation"]), terms)  # type: ignore[arg-type]
        except (OSError, ValueError, KeyError):
            return None

    def scores(self, terms: list[str]) -> np.ndarray | None:
        """BM25 score of every chunk for the query terms (a repeated term counts again), or None."""
        key = tuple(terms)
        if self._last is None or self._last[0] != key:  # search and fusion both ask for the same query
            self._last = (key, self._score(terms))
        return self._last[1]

    def scores_of(self, terms: list[str], ids: Sequence[str]) -> dict[str, float]:
        """BM25 scores of the given chunks (the ones the index holds) for the query terms."""
        scores = self.scores(terms) if terms else None
        if scores is None:
            return {}
        if self._positions is None:
            self._positions = {cid: i for i, cid in enumerate(self.ids)}
        return {c: float(scores[self._positions[c]]) for c in ids if c in self._positions}

    def idf(self, term: str) -> float:
        """BM25's inverse document frequency of a term over the chunks; a term the index lacks gets the rarest's."""
        n = len(self.ids)
        t = self.vocab.get(term)
        df = 0
        if t is not None and self.csc is not None and t < len(self.csc[2]) - 1:
            df = int(self.csc[2][t + 1] - self.csc[2][t])
        return float(np.log(1.0 + (n - max(df, 1) + 0.5) / (max(df, 1) + 0.5)))

    def _score(self, terms: list[str]) -> np.ndarray | None:
        if self.csc is None:
            return None
        data, indices, indptr = self.csc
        tids = [self.vocab[t] for t in terms if t in self.vocab and self.vocab[t] < len(indptr) - 1]
        if not tids:
            return None
        out = np.zeros(len(self.ids), dtype=np.float32)
        for t in tids:
            a, b = int(indptr[t]), int(indptr[t + 1])
            if b > a:
                out[indices[a:b]] += data[a:b]  # one term's column: each chunk index appears once
        return out

    def search(self, terms: list[str], k: int, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """The k best chunk ids by BM25 score (only positive scores)."""
        if not self.ids or not terms:
            return []
        scores = self.scores(terms)
        if scores is None:
            return []
        if allowed is not None:
            mask = np.fromiter((cid in allowed for cid in self.ids), dtype=bool, count=len(self.ids))
            scores = np.where(mask, scores, 0.0)
        return _top_k(self.ids, scores, k, positive=True)


def _int32(values: array) -> np.ndarray:
    """An array('i') as numpy int32 (empty ones too)."""
    return np.frombuffer(values, dtype=np.int32) if len(values) else np.zeros(0, dtype=np.int32)


def _top_k(ids: Sequence[str], scores: np.ndarray, k: int, positive: bool = False) -> list[tuple[str, float]]:
    """The k highest scores with their ids, best first (ties in index order)."""
    k = min(k, len(scores))
    if k <= 0:
        return []
    top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    top = top[np.lexsort((top, -scores[top]))]
    return [(ids[i], float(scores[i])) for i in top if not positive or scores[i] > 0]


def _swap_dir(tmp: Path, directory: Path) -> None:
    """Put a freshly written folder in place of the old one (readers see the old or the new one)."""
    old = directory.with_name(directory.name + f".old-{os.getpid()}")
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)
    if directory.exists():
        directory.rename(old)
    tmp.rename(directory)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)
