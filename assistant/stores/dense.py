"""The dense mirror: an exact-search, memory-mapped copy of the vectors, with each chunk's hubness (estimated by lists when large)."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from . import lists as inverted
from .keyword import _swap_dir, _top_k
from .lists import Lists, hubness_by_lists

DENSE_DIR = "dense"
HUB_NEIGHBOURS = 10  # a chunk's hubness: its mean cosine similarity to this many nearest other chunks
HUB_MIN_CHUNKS = 10 * HUB_NEIGHBOURS  # below this the neighbours are a tenth of the index or more: no hubness
HUB_DRIFT = 0.1  # rows added or removed since the last full computation, as a share of all, before it is redone


def hubness(vectors: np.ndarray, rows: Sequence[int] | None = None, block: int = 128) -> np.ndarray:
    """Each row's (or the given rows') mean cosine similarity to its HUB_NEIGHBOURS nearest other rows.

    A chunk near many others (boilerplate, a generic overview) is a "hub" that dense search ranks high
    for many questions it does not answer. All zeros for an index under HUB_MIN_CHUNKS chunks.
    """
    n, k = len(vectors), HUB_NEIGHBOURS
    rows = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
    out = np.zeros(len(rows), dtype=np.float32)
    if n < HUB_MIN_CHUNKS:
        return out
    for a in range(0, len(rows), block):  # 128 rows at a time: 56 MB of similarities at 109k chunks
        r = rows[a : a + block]
        sims = np.asarray(vectors[r], dtype=np.float32) @ np.asarray(vectors, dtype=np.float32).T
        sims[np.arange(len(r)), r] = -np.inf  # not its own neighbour
        out[a : a + len(r)] = np.partition(sims, n - k, axis=1)[:, n - k :].mean(axis=1)
    return out


def _updated_hubness(
    vectors: np.ndarray, old: DenseMirror | None, reused: Sequence[int], old_rows: Sequence[int], lists: Lists | None = None,
) -> tuple[np.ndarray, int]:
    """The hubness of every row and the drift since it was last computed for all rows.

    Reused rows keep their old value and only new rows are computed, until the rows added or removed
    since the last full computation pass HUB_DRIFT of the index (then every row is computed again).
    With lists (a large mirror) a row's neighbours are looked for in its own and nearest lists (stores.lists).
    """
    n = len(vectors)

    def compute(rows: np.ndarray | None) -> np.ndarray:
        if lists is None:
            return hubness(vectors, rows)
        return hubness_by_lists(vectors, lists, HUB_NEIGHBOURS, rows)

    if old is not None and old.hub_drift is not None and min(len(old.ids), n) >= HUB_MIN_CHUNKS:
        new = np.setdiff1d(np.arange(n), np.asarray(reused, dtype=np.int64))
        drift = old.hub_drift + len(new) + (len(old.ids) - len(reused))
        if drift <= HUB_DRIFT * n:
            hub = np.zeros(n, dtype=np.float32)
            hub[np.asarray(reused, dtype=np.int64)] = old.hub[np.asarray(old_rows, dtype=np.int64)]
            hub[new] = compute(new)
            return hub, drift
    return compute(None), 0


class DenseMirror:
    """An exact-search copy of the Chroma vectors (float32, memory-mapped), tagged with the generation.

    Written by Index.refresh_derived() after every committed change; used for queries only when its
    generation and model match the manifest, so a stale mirror is never read (Chroma answers instead).
    """

    def __init__(
        self, directory: Path, meta: dict, vectors: np.ndarray, doc_of_row: np.ndarray, hub: np.ndarray | None = None,
    ) -> None:
        self.dir = directory
        self.generation = int(meta["generation"])
        self.model = meta["model"]
        self.dim = int(meta["dim"])
        self.ids: list[str] = meta["ids"]
        self.docs: list[str] = meta["docs"]
        self.vectors = vectors
        self.doc_of_row = doc_of_row
        self.hub = hub if hub is not None else np.zeros(len(self.ids), dtype=np.float32)
        self.last_stats: tuple[float, float] | None = None  # set by query: mean and spread of its cosines
        self.hub_drift: int | None = meta.get("hub_drift") if hub is not None else None  # None: no hubness saved
        self._has_lists = bool(meta.get("lists"))
        self._lists: Lists | None = None
        self._row: dict[str, int] | None = None
        self._doc_no: dict[str, int] | None = None

    @property
    def row_of(self) -> dict[str, int]:
        """Chunk id → row."""
        if self._row is None:
            self._row = {cid: i for i, cid in enumerate(self.ids)}
        return self._row

    @property
    def lists(self) -> Lists | None:
        """A large mirror's neighbourhood lists (hubness only; read when first asked for, never by a query), else None."""
        if self._has_lists and self._lists is None:
            self._lists = Lists.load(self.dir, len(self.ids))
            self._has_lists = self._lists is not None
        return self._lists

    @classmethod
    def load(cls, directory: Path) -> DenseMirror | None:
        """The saved mirror, or None when it is missing or unreadable."""
        try:
            meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
            vectors = np.load(directory / "vectors.npy", mmap_mode="r")
            doc_of_row = np.load(directory / "doc_of_row.npy")
            hub = np.load(directory / "hub.npy") if (directory / "hub.npy").exists() else None
            if vectors.shape != (len(meta["ids"]), int(meta["dim"])) or len(doc_of_row) != len(meta["ids"]):
                return None
            if hub is not None and hub.shape != (len(meta["ids"]),):
                hub = None
            return cls(directory, meta, vectors, doc_of_row, hub)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    @staticmethod
    def write(
        directory: Path, generation: int, model: str, ids: list[str], doc_ids: list[str], vectors: np.ndarray,
        hub: np.ndarray, hub_drift: int = 0, lists: Lists | None = None,
    ) -> None:
        """Save a mirror (to a temporary folder, then one rename)."""
        tmp = directory.with_name(directory.name + f".tmp-{os.getpid()}")
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        docs = list(dict.fromkeys(doc_ids))
        doc_no = {d: i for i, d in enumerate(docs)}
        np.save(tmp / "vectors.npy", np.ascontiguousarray(vectors, dtype=np.float32))
        np.save(tmp / "doc_of_row.npy", np.fromiter((doc_no[d] for d in doc_ids), dtype=np.int32, count=len(doc_ids)))
        np.save(tmp / "hub.npy", np.asarray(hub, dtype=np.float32))
        if lists is not None:
            lists.save(tmp)
        meta = {"generation": generation, "model": model, "dim": int(vectors.shape[1]), "ids": ids, "docs": docs,
                "hub_drift": hub_drift, "lists": lists is not None}
        (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        _swap_dir(tmp, directory)

    @staticmethod
    def build(
        directory: Path, generation: int, model: str, ids: list[str], doc_ids: list[str], vectors: np.ndarray,
        old: DenseMirror | None = None, reused: Sequence[int] = (), old_rows: Sequence[int] = (),
    ) -> None:
        """Compute each chunk's hubness (by lists for a large mirror) and save the mirror.

        `reused[i]` is a row of these vectors that was row `old_rows[i]` of the old mirror.
        """
        n = len(ids)
        lists = None
        if n >= inverted.LISTS_MIN_ROWS:
            reused_a, old_a = np.asarray(reused, dtype=np.int64), np.asarray(old_rows, dtype=np.int64)
            changed = (n - len(reused)) + (len(old.ids) - len(reused) if old is not None else 0)
            lists = inverted.build(vectors, old.lists if old is not None else None, reused_a, old_a, changed)
        hub, drift = _updated_hubness(vectors, old, reused, old_rows, lists)
        DenseMirror.write(directory, generation, model, ids, doc_ids, vectors, hub, drift, lists)

    def query(
        self, vector: np.ndarray, k: int, doc_ids: Sequence[str] | None = None, hub_weight: float = 0.0
    ) -> list[tuple[str, float]]:
        """The k nearest chunks by cosine similarity (exact), optionally within some documents.

        With hub_weight, they are ranked by similarity minus hub_weight times each chunk's hubness
        (its similarity is still what is returned).
        """
        if not self.ids:
            return []
        cos = self.vectors @ np.asarray(vector, dtype=np.float32)
        self.last_stats = (float(cos.mean()), float(cos.std()))  # how the whole index sits to this query
        scores = cos - np.float32(hub_weight) * self.hub if hub_weight else cos
        if doc_ids is not None:
            if self._doc_no is None:
                self._doc_no = {d: i for i, d in enumerate(self.docs)}
            wanted = np.fromiter((self._doc_no[d] for d in doc_ids if d in self._doc_no), dtype=np.int32)
            if not len(wanted):
                return []
            mask = np.isin(self.doc_of_row, wanted)
            rows = np.flatnonzero(mask)
            top = [rows[j] for j, _ in _top_k(range(len(rows)), scores[rows], k)]
        else:
            top = [i for i, _ in _top_k(range(len(scores)), scores, k)]
        return [(self.ids[i], float(cos[i])) for i in top]

    def get(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Vectors for the ids the mirror holds."""
        rows = self.row_of
        return {cid: np.array(self.vectors[rows[cid]]) for cid in ids if cid in rows}

    def hub_of(self, ids: Sequence[str]) -> np.ndarray:
        """The hubness of these chunks (0 for ids the mirror lacks)."""
        rows = self.row_of
        return np.array([self.hub[rows[c]] if c in rows else 0.0 for c in ids], dtype=np.float32)
