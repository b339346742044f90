"""Sweep the z-score fusion's settings on both retrieval benchmarks at once (retrieval only, no answers).

    .venv/bin/python bench/fusion_sweep.py                 # keyword share 0.2-0.4 (builds bench/out/sweep-*)
    .venv/bin/python bench/fusion_sweep.py --grid '{"ZSCORE_BASE": [0.25], "CANDIDATES": [30, 50]}'
    .venv/bin/python bench/fusion_sweep.py --variants topn:20 margin:3 margin:4 xling:0 xling:id both:3

Prints, per setting: SweFAQ-dev nDCG@10 and the question set's document/passage nDCG@10, overall and per
question kind, so a setting is kept only when it helps both (see docs/benchmarks.md, Quality). Variants
change one thing in the shipped z-score fusion:
  topn:N     standardise each channel over its own top N candidates instead of the union
  margin:C   keyword share × sqrt(keyword top-1 margin / dense top-1 margin), the ratio capped at C
  xling:0    no keyword share when the question's language differs from the top dense passage's
  xling:id   ... except the identifier/number boost
  xmaj:0     as xling:0, but against the language most of the top 5 dense passages are in
  both:C     margin:C and xling:0 together
  nofill     a candidate in a language the question is not analysed in keeps its own keyword z (before
             2026-11-24; shipped: the dense z times the channels' correlation over the other candidates)
  xcand:R    ... takes R times its dense z instead (xcand:mean: 0, the candidates' mean)
  xreg       ... takes the least-squares line of keyword z on dense z fitted on the own-language candidates
  anyid      ... as before 2026-11-24 02:00: an English question counts as read in Danish and Swedish too
             (so no candidate is foreign to it), and any number, § or acronym in the question lets a foreign
             candidate keep a higher real keyword z (shipped: only an English question's own language counts,
             and only a joined identifier or phone number the index knows keeps the real z)
  xid        as anyid, but a foreign candidate keeps the z of its BM25 score for the identifier terms alone
  nojoined   no keyword share of 0.5 for a joined identifier or phone number the index holds
  logkw:S    keyword scores as log(1 + S·score) before standardising; sqrtkw: as √score
  rankz      both channels as normal scores of their ranks instead of z-scores of their scores
  prf:M:B    Rocchio feedback: the question vector plus B times the mean vector of the top M fused
             candidates, dense scores recomputed and fused again
  prfw:B:T   ... plus B times the top 10 weighted by softmax(fused z / T) (T 1 by default)

With --heldout, each variant's SweFAQ-dev queries that go up or down against the shipped fusion are
counted, and the variants are judged as a selection would be: pick the best on a random half of the
queries, score it on the other half, 500 times. The mean held-out gain over the shipped fusion (and its
spread) says whether picking the best-looking setting helps on queries it was not picked on.
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import sys
from pathlib import Path

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from assistant import retrieval  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.evaluation import (  # noqa: E402
    _passage_scores,
    _supporting_spans,
    load_beir,
    load_questions,
    ndcg_at,
)
from assistant.ingestion import ingest  # noqa: E402
from assistant.language import detect_language, query_languages  # noqa: E402
from assistant.retrieval import Retriever  # noqa: E402
from assistant.stores import Index  # noqa: E402

OUT = ROOT / "bench" / "out"
SWEFAQ = ROOT / "eval" / "datasets" / "swefaq-dev"


def seed_index() -> Path:
    d = OUT / "sweep-seed"
    if not (d / "manifest.sqlite").exists():
        ingest([ROOT / "corpus"], Settings(index_dir=d))
    return d


def swefaq_index() -> Path:
    d = OUT / "sweep-swefaq"
    if not (d / "manifest.sqlite").exists():
        corpus, _, _ = load_beir(SWEFAQ)
        docs = OUT / "sweep-swefaq-docs"
        docs.mkdir(parents=True, exist_ok=True)
        for doc in corpus:
            (docs / f"{doc['_id']}.txt").write_text(doc["text"], encoding="utf-8")
        ingest([docs], Settings(index_dir=d))
    return d


class Cached(Retriever):
    """A retriever that embeds each question once across the whole sweep."""

    cache: dict[str, np.ndarray] = {}

    def query_vector(self, question: str) -> np.ndarray:
        if question not in self.cache:
            self.cache[question] = self.embedder.embed_query(question)
        return self.cache[question]


def swefaq_per_query(r: Retriever) -> np.ndarray:
    """nDCG@10 of every judged SweFAQ-dev query, in file order."""
    _, queries, qrels = load_beir(SWEFAQ)
    slug = {d.doc_id: Path(d.source).stem for d in r.index.manifest.documents()}
    out = []
    for q in (q for q in queries if q["_id"] in qrels):
        hits = r.search(q["text"], k=30)
        ranked = [slug.get(d, d) for d in dict.fromkeys(h.chunk.doc_id for h in hits)][:10]
        rel = qrels[q["_id"]]
        out.append(ndcg_at([float(rel.get(d, 0)) for d in ranked], [float(v) for v in rel.values()]))
    return np.array(out)


def heldout_gain(per_query: dict[str, np.ndarray], rounds: int = 500, seed: int = 0) -> tuple[float, float]:
    """Mean and spread of the gain over "shipped" when the best variant on one half is scored on the other."""
    rng = np.random.default_rng(seed)
    n = len(per_query["shipped"])
    gains = []
    for _ in range(rounds):
        perm = rng.permutation(n)
        a, b = perm[: n // 2], perm[n // 2:]
        best = max(per_query, key=lambda v: per_query[v][a].mean())
        gains.append(per_query[best][b].mean() - per_query["shipped"][b].mean())
    return float(np.mean(gains)), float(np.std(gains))


def seed_scores(r: Retriever) -> dict:
    qs = [q for q in load_questions(ROOT / "eval" / "questions.yaml") if q.answerable]
    rows = []
    for q in qs:
        hits = r.search(q.question, k=10)
        docs = list(dict.fromkeys(h.chunk.doc_id for h in hits))[:10]
        gd = ndcg_at([1.0 if d in q.gold_docs else 0.0 for d in docs], [1.0] * len(q.gold_docs))
        pd = _passage_scores(hits, _supporting_spans(q, r.index), r.index)["passage_ndcg@10"]
        rows.append((q.kind, gd, pd))
    out = {"all": (sum(x[1] for x in rows) / len(rows), sum(x[2] for x in rows) / len(rows))}
    for kind in sorted({x[0] for x in rows}):
        sel = [x for x in rows if x[0] == kind]
        out[kind] = (sum(x[1] for x in sel) / len(sel), sum(x[2] for x in sel) / len(sel))
    return out


SHIPPED = Retriever._zscore_fusion  # kept before any variant replaces it


def variant(name: str, arg: str):
    """The shipped z-score fusion with one change (see the module docstring)."""

    def fusion(self, question, dense_s, kw_s, known):
        alpha = retrieval.fusion_share(question, known)
        exact = self._exact_identifier(question) or self._lookup(question)
        if name != "nojoined" and exact:  # as shipped
            alpha = max(alpha, retrieval.ZSCORE_EXACT_ID)
        union, zd, zk = self._standardised(question, dense_s, kw_s)
        if name in ("logkw", "sqrtkw", "rankz"):  # the keyword scores transformed before standardising
            d, k = self._raw_union_scores(question, union, dense_s, kw_s)
            if name == "logkw":
                zk = retrieval.standardise(np.log1p(k * float(arg or 1)))
            elif name == "sqrtkw":
                zk = retrieval.standardise(np.sqrt(k))
            else:  # both channels by rank (normal scores of the ranks)
                from statistics import NormalDist
                nd = NormalDist()
                def rz(x):
                    r = np.argsort(np.argsort(-x))
                    return np.array([-nd.inv_cdf((i + 0.5) / len(x)) for i in r])
                zd, zk = rz(d), rz(k)
        if name == "topn":
            d, k = self._raw_union_scores(question, union, dense_s, kw_s)
            zd, zk = (retrieval.standardise(x, np.sort(x)[-int(arg):]) for x in (d, k))
        if name in ("xling", "both", "xmaj"):
            if name == "xmaj":  # the language most of the top 5 dense passages are in
                top5 = sorted(dense_s, key=dense_s.get, reverse=True)[:5]
                langs = [c.language for c in self.index.manifest.chunks_by_ids(top5).values()]
                lang = max(set(langs), key=langs.count)
            else:
                top = max(dense_s, key=dense_s.get)
                lang = self.index.manifest.chunks_by_ids([top])[top].language
            if detect_language(question) != lang:
                ident = arg == "id" and retrieval._IDENTIFIER.search(question)
                alpha = retrieval.ZSCORE_ID_BOOST if ident else 0.0
        # the variants below use the rule before 2026-11-24 02:00: an English question is read in all three
        # languages, so no candidate is foreign to it
        other = self._foreign(union, set(query_languages(question))) if name in ("xcand", "xreg", "anyid", "xid") else None
        if name == "xcand":  # a candidate in a language the question is not read in: a fixed share of its dense z
            zk = np.where(other, 0.0 if arg == "mean" else float(arg or 1) * zd, zk)
        elif name == "xreg":  # the least-squares line of keyword z on dense z over the own-language candidates
            same = ~other
            if other.any() and same.sum() > 2 and zd[same].std() > 1e-9:
                b = max(0.0, float(np.cov(zd[same], zk[same], bias=True)[0, 1] / zd[same].var()))
                guess = zk[same].mean() + b * (zd - zd[same].mean())
                if retrieval._IDENTIFIER.search(question):
                    guess = np.maximum(zk, guess)
                zk = np.where(other, guess, zk)
        elif name in ("anyid", "xid"):  # the rule before 2026-11-24 02:00 / identifier terms only
            if other.any():
                guess = retrieval.channel_correlation(zd, zk, ~other) * zd
                if retrieval._IDENTIFIER.search(question) and name == "anyid":  # any number, §, acronym
                    guess = np.maximum(zk, guess)
                elif retrieval._IDENTIFIER.search(question):  # xid: BM25 of the identifier terms alone
                    ids = [t for t in self._last_terms if any(ch.isdigit() for ch in t) or t.startswith("§")]
                    sc = self.index.keyword.scores_of(ids, union) if ids else {}
                    guess = np.maximum(retrieval.standardise(np.array([sc.get(c, 0.0) for c in union])), guess)
                zk = np.where(other, guess, zk)
        elif name != "nofill":  # as shipped: the keyword z-score the dense one predicts
            zk = self._cross_language_keyword(question, union, zd, zk, exact)
        if name in ("margin", "both"):
            def margin(z):
                return float(np.diff(np.sort(z)[-2:])[0]) if len(z) > 1 else 0.0
            cap = float(arg) if name == "margin" else 3.0
            alpha = min(0.6, alpha * float(np.clip((margin(zk) + 1e-3) / (margin(zd) + 1e-3), 1 / cap, cap)) ** 0.5)
        f = (1 - alpha) * zd + alpha * zk
        if name in ("prf", "prfw"):  # Rocchio: the question vector moved toward the top fused candidates
            vecs = self.index.vectors.get_vectors(list(union))
            q = self.query_vector(question)
            if name == "prf":  # the mean of the top M
                m, _, beta = arg.partition(":")
                top = [union[i] for i in np.argsort(-f)[: int(m)]]
                q2 = q + float(beta) * np.mean([vecs[c] for c in top if c in vecs], axis=0)
            else:  # the top 10 weighted by softmax(fused z / T)
                beta, _, t = arg.partition(":")
                order = [i for i in np.argsort(-f)[:10] if union[i] in vecs]
                w = np.exp((f[order] - f[order].max()) / float(t or 1))
                q2 = q + float(beta) * (w[:, None] * np.array([vecs[union[i]] for i in order])).sum(0) / w.sum()
            q2 = q2 / np.linalg.norm(q2)
            d2 = np.array([float(np.dot(vecs[c], q2)) if c in vecs else np.nan for c in union])
            d2 = np.where(np.isnan(d2), np.nanmin(d2), d2)
            zd = retrieval.standardise(d2)
            f = (1 - alpha) * zd + alpha * zk
        return {c: float(v) for c, v in zip(union, f)}

    return SHIPPED if name == "shipped" else fusion


def report(label: str, seed: Retriever, swe: Retriever) -> np.ndarray:
    s = seed_scores(seed)
    per_query = swefaq_per_query(swe)
    cells = " | ".join(f"{s[k][0]:.3f}/{s[k][1]:.3f}" for k in sorted(s) if k != "all")
    print(f"{label} | {per_query.mean():.4f} | {s['all'][0]:.3f}/{s['all'][1]:.3f} | {cells}", flush=True)
    return per_query


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--grid", default='{"ZSCORE_BASE": [0.2, 0.25, 0.3, 0.35, 0.4]}',
                    help="JSON: retrieval module constant -> values to try")
    ap.add_argument("--variants", nargs="*", default=[], help="NAME:ARG variants of the fusion (see above)")
    ap.add_argument("--heldout", action="store_true",
                    help="count SweFAQ-dev queries up/down per variant and the split-half held-out gain")
    args = ap.parse_args()
    settings = Settings()
    seed = Cached(Index(seed_index()), settings.embed_model)
    swe = Cached(Index(swefaq_index()), settings.embed_model)
    print("setting | swefaq | seed doc/passage | cross | exact | multi | para  (doc/passage nDCG@10)")
    if args.variants:
        per_query = {}
        for v in dict.fromkeys(["shipped", *args.variants] if args.heldout else args.variants):
            name, _, arg = v.partition(":")
            Retriever._zscore_fusion = variant(name, arg)
            per_query[v] = report(v, seed, swe)
        if args.heldout:
            for v, pq in per_query.items():
                d = pq - per_query["shipped"]
                print(f"{v}: SweFAQ-dev queries up {int((d > 1e-9).sum())}, down {int((d < -1e-9).sum())}")
            mean, sd = heldout_gain(per_query)
            print(f"held-out gain of the best variant on half the queries, scored on the other half: "
                  f"{mean:+.4f} ± {sd:.4f} (500 random halves)")
        return
    grid = json.loads(args.grid)
    keys = list(grid)
    for values in itertools.product(*(grid[k] for k in keys)):
        for k, v in zip(keys, values):
            setattr(retrieval, k, v)
        report(str(dict(zip(keys, values))), seed, swe)


if __name__ == "__main__":
    main()
