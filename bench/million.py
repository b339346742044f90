"""A dense mirror of a million chunks: exact search, first passes tried, hubness by lists, build time.

The vectors are made from the real e5 vectors of the regeringen-sv index (`--real`, 10,097 passages
of `bench/out/regeringen-full-index`): each synthetic row is a random mix of two real passage vectors
(weights w and 1-w, w uniform in [0.5, 1]) plus Gaussian noise of 0.01 per dimension, normalised; the
queries are real e5 query vectors of 200 real questions (150 of eval/out/regeringen-facts/test.yaml,
50 of eval/questions.yaml), split by position: even ones dev, odd ones test.

    .venv/bin/python bench/million.py --rows 1000000                 # build the mirror; hubness; exact search
    .venv/bin/python bench/million.py --rows 1000000 --first-pass    # also the approximate first passes tried

Prints JSON: the mirror's build seconds (lists, hubness, write), its hubness against exact hubness on
1,000 sampled rows, exact search p50/p95 (k=50, with the hubness weight retrieval uses), and with
--first-pass, for each first pass tried (sign bits, k-means lists, PCA, int8 through onnxruntime): its
p50/p95 and recall@10/@50 against exact search on the test questions; and the machine's load average.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.retrieval import HUB_WEIGHT  # noqa: E402
from assistant.stores import dense, lists  # noqa: E402
from assistant.stores.dense import HUB_NEIGHBOURS, DenseMirror  # noqa: E402

WORK = ROOT / "bench" / "out" / "million"


def make_vectors(real: np.ndarray, rows: int, path: Path, seed: int = 0) -> np.ndarray:
    """Rows mixed from real passage vectors with a little noise (cached on disk)."""
    if path.exists():
        v = np.load(path, mmap_mode="r")
        if v.shape == (rows, real.shape[1]):
            return v
    rng = np.random.default_rng(seed)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, real.shape[1]))
    for a in range(0, rows, 100_000):
        m = min(100_000, rows - a)
        i, j = rng.integers(len(real), size=m), rng.integers(len(real), size=m)
        w = rng.uniform(0.5, 1.0, size=(m, 1)).astype(np.float32)
        v = w * real[i] + (1 - w) * real[j] + rng.standard_normal((m, real.shape[1]), dtype=np.float32) * 0.01
        out[a : a + m] = v / np.linalg.norm(v, axis=1, keepdims=True)
    out.flush()
    return np.load(path, mmap_mode="r")


def query_vectors(path: Path) -> np.ndarray:
    """Real e5 query vectors of 200 real questions (cached)."""
    if path.exists():
        return np.load(path)
    import yaml

    from assistant.embedding import get_embedder

    qs = [q["question"] for q in yaml.safe_load((ROOT / "eval/out/regeringen-facts/test.yaml").read_text())["questions"]][:150]
    qs += [q["question"] for q in yaml.safe_load((ROOT / "eval/questions.yaml").read_text())["questions"]][:50]
    e = get_embedder("multilingual-e5-small")
    v = np.stack([e.embed_query(q) for q in qs]).astype(np.float32)
    np.save(path, v)
    return v


def ms(xs: list[float], p: float) -> float:
    """Percentile p of seconds, in ms."""
    return round(float(np.percentile(np.array(xs) * 1000, p)), 1)


def search(m: DenseMirror, queries: np.ndarray, k: int = 50) -> tuple[list[list[str]], list[float]]:
    """Top-k ids and the time of each query (after one warm-up)."""
    m.query(queries[0], k, None, HUB_WEIGHT)
    tops, times = [], []
    for q in queries:
        t = time.perf_counter()
        found = m.query(q, k, None, HUB_WEIGHT)
        times.append(time.perf_counter() - t)
        tops.append([c for c, _ in found])
    return tops, times


def first_passes(x: np.ndarray, queries: np.ndarray) -> list[dict]:
    """Approximate first passes with exact float32 rescoring of their candidates, against exact search."""
    n, d = x.shape
    exact = []
    for q in queries:
        c = x @ q
        top = np.argpartition(-c, 50)[:50]
        exact.append(top[np.argsort(-c[top])])
    out = []

    def score(name: str, fn) -> None:
        fn(queries[0])
        times, r10, r50 = [], [], []
        for q, e in zip(queries, exact):
            t = time.perf_counter()
            cand = np.sort(fn(q))
            c = np.asarray(x[cand]) @ q
            top = cand[np.argsort(-c)[:50]]
            times.append(time.perf_counter() - t)
            r10.append(len(set(top[:10]) & set(e[:10])) / 10)
            r50.append(len(set(top) & set(e)) / 50)
        out.append({"first_pass": name, "p50_ms": ms(times, 50), "p95_ms": ms(times, 95),
                    "recall_at_10": round(float(np.mean(r10)), 4), "recall_at_50": round(float(np.mean(r50)), 4)})
        print(json.dumps(out[-1]), file=sys.stderr, flush=True)

    # sign bits of the centred vectors (48 bytes a row), Hamming distance, C candidates
    centre = np.asarray(x[:: max(1, n // 20000)]).mean(axis=0)
    cols = np.ascontiguousarray(np.packbits(np.asarray(x) - centre > 0, axis=1).view(np.uint64).T)
    buf, cnt, ham = np.empty(n, np.uint64), np.empty(n, np.uint8), np.empty(n, np.uint16)

    def bits(q: np.ndarray, c: int) -> np.ndarray:
        qc = np.packbits(q - centre > 0).view(np.uint64)
        ham[:] = 0
        for w in range(len(qc)):
            np.bitwise_xor(cols[w], qc[w], out=buf)
            np.bitwise_count(buf, out=cnt)
            np.add(ham, cnt, out=ham)
        return np.argpartition(ham, c)[:c]

    for c in (2000, 10000):
        score(f"sign bits, {c} candidates", lambda q, c=c: bits(q, c))
    # k-means lists (sqrt(n)), the nearest share of them read
    cent = lists.train(x, lists.list_count(n))
    assign = lists.assign_rows(x, cent)
    order = np.argsort(assign, kind="stable")
    offsets = np.zeros(len(cent) + 1, dtype=np.int64)
    np.cumsum(np.bincount(assign, minlength=len(cent)), out=offsets[1:])

    def probe(q: np.ndarray, share: float) -> np.ndarray:
        near = np.argsort(-(cent @ q))[: max(1, int(share * len(cent)))]
        return np.concatenate([order[offsets[j] : offsets[j + 1]] for j in near])

    for share in (0.03, 0.1):
        score(f"k-means lists ({len(cent)}), {share:.0%} read", lambda q, s=share: probe(q, s))
    # PCA: the first 96 principal components in float32
    sample = np.asarray(x[:: max(1, n // 50000)])
    mu = sample.mean(axis=0)
    _, vecs = np.linalg.eigh(np.cov((sample - mu).T))
    basis = np.ascontiguousarray(vecs[:, ::-1][:, :96].astype(np.float32))
    proj = np.concatenate([(np.asarray(x[a : a + 100_000]) - mu) @ basis for a in range(0, n, 100_000)])
    score("PCA 96 dimensions, 3000 candidates", lambda q: np.argpartition(-(proj @ (basis.T @ q)), 3000)[:3000])
    # int8 (per-dimension scale) through onnxruntime's MatMulInteger, the rows as a constant
    import onnxruntime as ort
    from onnx import TensorProto, helper, numpy_helper

    scale = np.abs(np.asarray(x[:: max(1, n // 20000)])).max(axis=0)
    x8 = np.concatenate([np.clip(np.round(np.asarray(x[a : a + 100_000]) / scale * 127), -127, 127).astype(np.int8)
                         for a in range(0, n, 100_000)])
    zero = 128 * x8.astype(np.int32).sum(axis=1)
    graph = helper.make_graph(
        [helper.make_node("MatMulInteger", ["A", "B"], ["Y"])], "int8",
        [helper.make_tensor_value_info("A", TensorProto.UINT8, [1, d])],
        [helper.make_tensor_value_info("Y", TensorProto.INT32, [1, n])],
        initializer=[numpy_helper.from_array(np.ascontiguousarray(x8.T), "B")])
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 2
    sess = ort.InferenceSession(helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)]).SerializeToString(),
                                opts, providers=["CPUExecutionProvider"])
    del x8

    def int8(q: np.ndarray) -> np.ndarray:
        qs = q * scale
        q8 = (np.clip(np.round(qs / np.abs(qs).max() * 127), -127, 127) + 128).astype(np.uint8).reshape(1, d)
        y = sess.run(None, {"A": q8})[0][0] - zero
        return np.argpartition(-y, 1000)[:1000]

    score("int8 (onnxruntime MatMulInteger), 1000 candidates", int8)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--real", type=Path, default=ROOT / "bench/out/regeringen-full-index/dense/vectors.npy")
    ap.add_argument("--first-pass", action="store_true", help="also measure the approximate first passes tried")
    ap.add_argument("--rebuild", action="store_true", help="build the mirror again even if it is there")
    a = ap.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    real = np.load(a.real).astype(np.float32)
    vectors = make_vectors(real, a.rows, WORK / f"vectors-{a.rows}.npy")
    queries = query_vectors(WORK / "queries.npy")
    test = queries[1::2]
    folder = WORK / f"mirror-{a.rows}"
    out: dict = {"rows": a.rows, "dim": int(vectors.shape[1]), "lists_min_rows": lists.LISTS_MIN_ROWS,
                 "load_before": [round(x, 2) for x in load_before]}
    if a.rebuild or DenseMirror.load(folder) is None:
        ids = [f"c{i:07d}" for i in range(a.rows)]
        doc_ids = [f"d{i // 3:07d}" for i in range(a.rows)]
        t = time.perf_counter()
        v = np.asarray(vectors)
        DenseMirror.build(folder, 1, "multilingual-e5-small", ids, doc_ids, v)
        out["build_seconds"] = round(time.perf_counter() - t, 1)
    m = DenseMirror.load(folder)
    assert m is not None
    out["hubness_by"] = "exact" if m.lists is None else f"lists ({len(m.lists.centroids)}, {lists.HUB_LISTS} nearest read)"
    rng = np.random.default_rng(1)
    sample = np.sort(rng.choice(a.rows, size=1000, replace=False))
    t = time.perf_counter()
    exact_hub = dense.hubness(m.vectors, sample)
    out["exact_hubness_1000_rows_seconds"] = round(time.perf_counter() - t, 1)
    got = m.hub[sample]
    out["hubness_vs_exact"] = {
        "rows": 1000, "pearson": round(float(np.corrcoef(got, exact_hub)[0, 1]), 4),
        "mean_abs_diff": round(float(np.abs(got - exact_hub).mean()), 5),
        "equal_share": round(float(np.mean(np.abs(got - exact_hub) < 1e-5)), 3),
        "exact_mean": round(float(exact_hub.mean()), 4), "exact_std": round(float(exact_hub.std()), 4),
        "neighbours": HUB_NEIGHBOURS,
    }
    _, t_exact = search(m, test)
    out["exact_search_test"] = {"queries": len(test), "p50_ms": ms(t_exact, 50), "p95_ms": ms(t_exact, 95)}
    if a.first_pass:
        out["first_passes_test"] = first_passes(m.vectors, test)
    out["load_after"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
