"""Hubness in dense ranking: SweFAQ-dev in the index, and 1,500 known-item queries on regeringen-sv outside it.

    .venv/bin/python bench/hubness.py                      # SweFAQ-dev, hub weight 0 / 0.1 / 0.15 / 0.25 (1 min)
    BENCH_DATA=../shared/datasets/regeringen-sv/docs .venv/bin/python bench/hubness.py --regeringen   # + 5 min

A chunk's hubness is its mean cosine similarity to its 10 nearest chunks (assistant.stores.hubness); dense
ranking subtracts HUB_WEIGHT times it (assistant.retrieval). The regeringen-sv check asks each page's title
(1,500 pages drawn at random) for the page's first 250 words, among all 3,549 pages: a second, larger and
independent set, so a weight is not judged on SweFAQ-dev's 110 queries alone. Per setting it prints nDCG@10
and how many queries went up or down against weight 0, with a two-sided sign test.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
from pathlib import Path

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from assistant import retrieval  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.evaluation import evaluate_dataset  # noqa: E402

OUT = ROOT / "bench" / "out"
WEIGHTS = (0.0, 0.1, 0.15, 0.25)


def sign_p(up: int, down: int) -> float:
    """Two-sided sign test p-value for up vs down."""
    n, k = up + down, min(up, down)
    if n == 0:
        return 1.0
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(k + 1)) / 2**n)


def line(name: str, scores: np.ndarray, base: np.ndarray) -> str:
    up, down = int((scores > base + 1e-9).sum()), int((scores < base - 1e-9).sum())
    return f"{name:<34} nDCG@10 {scores.mean():.4f}  up {up:>3} down {down:>3}  sign p {sign_p(up, down):.3f}"


def swefaq() -> None:
    index_dir = OUT / "hubness-swefaq"
    for mode in ("dense", "hybrid"):
        base = None
        for w in WEIGHTS:
            retrieval.HUB_WEIGHT = w
            res = evaluate_dataset(ROOT / "eval" / "datasets" / "swefaq-dev", Settings(), mode, index_dir)
            s = np.array([r["ndcg@10"] for r in res["questions"]])
            base = s if base is None else base
            print(line(f"SweFAQ-dev {mode}, hub weight {w}", s, base))


def regeringen() -> None:
    from assistant.e5_onnx import OnnxE5Embedder
    from assistant.language import analyze
    from assistant.retrieval import standardise
    from assistant.stores import KeywordIndex, hubness

    root = Path(os.environ.get("BENCH_DATA", ROOT.parent / "shared" / "datasets" / "regeringen-sv" / "docs"))
    titles, bodies = [], []
    for f in sorted(root.glob("*.md")):
        lines = f.read_text(encoding="utf-8").split("\n")
        if lines[0].startswith("# "):
            titles.append(lines[0][2:].strip())
            bodies.append(" ".join(" ".join(lines[1:]).split()[:250]))
    cache = OUT / "hubness-regeringen.npz"
    if cache.exists():
        z = np.load(cache)
        P, Q = z["P"], z["Q"]
    else:
        e = OnnxE5Embedder()
        P = e.embed_passages(bodies)
        Q = np.stack([e.embed_query(t) for t in titles])
        np.savez(cache, P=P, Q=Q)
    sel = np.random.default_rng(0).choice(len(P), 1500, replace=False)
    kw = KeywordIndex.build(((str(i), analyze(b, "sv")) for i, b in enumerate(bodies)), 0)
    none = np.zeros(len(P))
    B = np.stack([s if (s := kw.scores(analyze(titles[i], "sv"))) is not None else none for i in sel])
    D = Q[sel] @ P.T

    def ndcg(S: np.ndarray) -> np.ndarray:
        rank = (S > S[np.arange(len(sel)), sel][:, None]).sum(1)
        return np.where(rank < 10, 1 / np.log2(rank + 2), 0.0)

    def fused(S: np.ndarray) -> np.ndarray:
        return np.stack([0.75 * standardise(s) + 0.25 * standardise(b) for s, b in zip(S, B)])

    hub = hubness(P)
    base_d, base_f = ndcg(D), ndcg(fused(D))
    print(f"regeringen-sv: {len(P)} pages, {len(sel)} title queries; keyword only nDCG@10 {ndcg(B).mean():.4f}")
    for w in WEIGHTS:
        S = D - w * hub[None, :]
        print(line(f"regeringen dense, hub weight {w}", ndcg(S), base_d))
        print(line(f"regeringen fused 0.25, hub weight {w}", ndcg(fused(S)), base_f))
    # as an index of LISTS_MIN_ROWS chunks or more estimates it: neighbours among the nearest k-means lists
    from assistant.stores import lists

    for count in (lists.list_count(len(P)), 4 * lists.list_count(len(P))):
        est = lists.hubness_by_lists(P, lists.Lists(c := lists.train(P, count), lists.assign_rows(P, c)), 10)
        S = D - 0.15 * est[None, :]
        r = float(np.corrcoef(est, hub)[0, 1])
        print(line(f"hubness by {count} lists (r {r:.2f}), w 0.15", ndcg(S), base_d))
        print(line(f"  fused 0.25, by {count} lists", ndcg(fused(S)), base_f))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--regeringen", action="store_true", help="also the regeringen-sv known-item check (5 min)")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    swefaq()
    if args.regeringen:
        regeringen()
    print(json.dumps({"hub_neighbours": 10, "shipped_weight": 0.15}))


if __name__ == "__main__":
    main()
