"""Neighbourhood lists for a large dense mirror: k-means lists that make each chunk's hubness affordable.

A chunk's hubness is its mean cosine to its 10 nearest other chunks (stores.dense). Computed exactly it
compares every chunk with every other: about 2 minutes at 109k chunks, but hours at a million. From
LISTS_MIN_ROWS on, the mirror keeps about sqrt(n) spherical k-means lists (centroids and each row's
list) and looks for a chunk's neighbours only among the rows of its own list and its HUB_LISTS nearest
lists. The result is an estimate (it misses neighbours that fall in other lists); `bench/million.py`
compares it with exact hubness on sampled rows. Below LISTS_MIN_ROWS hubness stays exact.

Queries never use the lists: search over the mirror stays exact (an inverted-file first pass was measured
and left out: with e5 question vectors the nearest passages spread over too many lists; see
docs/benchmarks.md).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

LISTS_MIN_ROWS = 150_000  # exact hubness below (about 2 minutes at 109k chunks); lists from here on
TRAIN_ROWS = 100_000  # k-means is trained on a seeded sample of this many rows
ITERATIONS = 8
RETRAIN_DRIFT = 0.2  # rows added or removed since training, as a share of all, before the lists are trained again
HUB_LISTS = 3  # a row's neighbours are looked for in its own list and this many nearest other lists
_BLOCK = 8192
LISTS_FILE = "lists.npz"


@dataclass
class Lists:
    """The centroids, each mirror row's list, and the rows added or removed since the centroids were trained."""

    centroids: np.ndarray  # (L, d) unit vectors
    assign: np.ndarray  # (n,) int32: the list of each mirror row
    drift: int = 0

    def save(self, directory: Path) -> None:
        """Write lists.npz into a mirror folder being written."""
        np.savez(directory / LISTS_FILE, centroids=self.centroids, assign=self.assign,
                 drift=np.array([self.drift], dtype=np.int64))

    @classmethod
    def load(cls, directory: Path, rows: int) -> Lists | None:
        """The saved lists of a mirror of `rows` rows, or None when missing or not matching."""
        try:
            with np.load(directory / LISTS_FILE) as z:
                lists = cls(z["centroids"], z["assign"].astype(np.int32), int(z["drift"][0]))
        except (OSError, ValueError, KeyError):
            return None
        return lists if len(lists.assign) == rows else None


def list_count(rows: int) -> int:
    """How many lists a mirror of this many rows gets: about sqrt(n)."""
    return max(1, round(math.sqrt(rows)))


def train(vectors: np.ndarray, count: int, seed: int = 0) -> np.ndarray:
    """Spherical k-means centroids (unit vectors) of a seeded sample of the rows."""
    rng = np.random.default_rng(seed)
    n = len(vectors)
    sample = np.sort(rng.choice(n, size=min(n, max(TRAIN_ROWS, 4 * count)), replace=False))
    x = np.asarray(vectors[sample], dtype=np.float32)
    cent = x[rng.choice(len(x), size=count, replace=False)].copy()
    for _ in range(ITERATIONS):
        assign = assign_rows(x, cent)
        sums = np.zeros_like(cent)
        np.add.at(sums, assign, x)
        empty = np.flatnonzero(np.bincount(assign, minlength=count) == 0)
        if len(empty):  # an empty list takes a random row as its centroid
            sums[empty] = x[rng.choice(len(x), size=len(empty), replace=False)]
        norms = np.linalg.norm(sums, axis=1, keepdims=True)
        cent = sums / np.where(norms > 0, norms, 1.0)
    return cent.astype(np.float32)


def assign_rows(vectors: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Each row's nearest centroid (by cosine)."""
    out = np.empty(len(vectors), dtype=np.int32)
    ct = np.ascontiguousarray(centroids.T)
    for a in range(0, len(vectors), _BLOCK):
        out[a : a + _BLOCK] = np.argmax(np.asarray(vectors[a : a + _BLOCK], dtype=np.float32) @ ct, axis=1)
    return out


def build(
    vectors: np.ndarray, old: Lists | None = None, reused: np.ndarray | None = None, old_rows: np.ndarray | None = None,
    changed: int = 0,
) -> Lists:
    """Lists for these rows: the old centroids and assignments are kept (new rows join their nearest list)
    while the rows added or removed since training stay under RETRAIN_DRIFT of the index."""
    n = len(vectors)
    if old is not None and reused is not None and old_rows is not None and old.centroids.shape[1] == vectors.shape[1] \
            and old.drift + changed <= RETRAIN_DRIFT * n:
        assign = np.full(n, -1, dtype=np.int32)
        assign[reused] = old.assign[old_rows]
        new = np.flatnonzero(assign < 0)
        assign[new] = assign_rows(np.asarray(vectors)[new], old.centroids)
        return Lists(old.centroids, assign, old.drift + changed)
    centroids = train(vectors, list_count(n))
    return Lists(centroids, assign_rows(vectors, centroids), 0)


def hubness_by_lists(vectors: np.ndarray, lists: Lists, neighbours: int, rows: np.ndarray | None = None) -> np.ndarray:
    """Each row's (or the given rows') mean cosine to its `neighbours` nearest other rows in its own and nearest lists."""
    n = len(vectors)
    wanted = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
    out = np.zeros(len(wanted), dtype=np.float32)
    count = len(lists.centroids)
    by_list = np.argsort(lists.assign, kind="stable")
    offsets = np.zeros(count + 1, dtype=np.int64)
    np.cumsum(np.bincount(lists.assign, minlength=count), out=offsets[1:])
    cent_sims = lists.centroids @ lists.centroids.T
    order = np.argsort(lists.assign[wanted], kind="stable")
    groups = np.split(order, np.flatnonzero(np.diff(lists.assign[wanted][order])) + 1) if len(order) else []
    for group in groups:
        j = int(lists.assign[wanted[group[0]]])
        near = np.argsort(-cent_sims[j], kind="stable")[: HUB_LISTS + 1]
        near = np.concatenate([[j], near[near != j][:HUB_LISTS]])
        cand = np.concatenate([by_list[offsets[m] : offsets[m + 1]] for m in near])
        k = min(neighbours, len(cand) - 1)
        if k <= 0:
            continue
        cand = np.sort(cand)
        cand_vecs = np.asarray(vectors[cand], dtype=np.float32)
        for s in range(0, len(group), 1024):
            g = group[s : s + 1024]
            r = wanted[g]
            sims = np.asarray(vectors[r], dtype=np.float32) @ cand_vecs.T
            sims[np.arange(len(r)), np.searchsorted(cand, r)] = -np.inf  # not its own neighbour
            out[g] = np.partition(sims, len(cand) - k, axis=1)[:, len(cand) - k :].mean(axis=1)
    return out
