"""Answer-level evaluation on a BEIR dataset: answered from gold, leave-gold-out refusals, label calibration."""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from .answering import Answerer
from .config import Settings
from .errors import AssistantError
from .evaluation import document_ranking, ingest_corpus, load_beir, percentile
from .language import detect_language
from .retrieval import Retriever
from .stores import Index


def held_out_docs(qrels: dict[str, dict[str, int]], fraction: float, seed: int) -> set[str]:
    """A seeded random `fraction` of the documents that are gold for some query."""
    if not 0.0 <= fraction < 1.0:
        raise AssistantError(f"--hold-out-gold {fraction}: expected a fraction from 0 up to (not including) 1", exit_code=2)
    gold = sorted({d for rel in qrels.values() for d, v in rel.items() if v > 0})
    return set(random.Random(seed).sample(gold, round(fraction * len(gold))))


def _check_own_index(index_dir: Path, docs_dir: Path) -> None:
    """Refuse an index that holds documents from elsewhere than docs_dir (they would stay in the evaluation)."""
    if not (index_dir / "manifest.sqlite").exists():
        return
    index = Index(index_dir)
    try:
        stray = [d.source for d in index.manifest.documents() if docs_dir.resolve() not in Path(d.path).resolve().parents]
    finally:
        index.close()
    if stray:
        raise AssistantError(f"{index_dir}: holds {len(stray)} documents from outside {docs_dir} "
                             f"(e.g. {stray[0]}); give --index a new folder for dataset evaluations")


def answer_scores(rows: list[dict]) -> dict[str, float | None]:
    """Answer scores of rows: answered with a citation from gold (any / the first), refusals, the "high" label's precision."""
    ans = [r for r in rows if r["answerable"]]
    una = [r for r in rows if not r["answerable"]]
    refused = [r for r in rows if r["refused"]]
    tp = sum(1 for r in una if r["refused"])
    high = [r for r in rows if not r["refused"] and r["label"] == "high"]

    def share(n: int, d: int) -> float | None:
        return round(n / d, 4) if d else None

    return {
        "answered_correctly": share(sum(1 for r in ans if r["any_gold"]), len(ans)),
        "first_citation_correct": share(sum(1 for r in ans if r["correct"]), len(ans)),
        "false_refusal_rate": share(sum(1 for r in ans if r["refused"]), len(ans)),
        "refusal_precision": share(tp, len(refused)) if refused else (1.0 if not una else 0.0),
        "refusal_recall": share(tp, len(una)),
        "high_label_precision": share(sum(1 for r in high if r["correct"]), len(high)),
        "high_label_share": share(len(high), len(rows)),
        "answerable": len(ans),
        "unanswerable": len(una),
    }


def evaluate_answers(
    directory: Path,
    settings: Settings,
    mode: str = "hybrid",
    index_dir: Path | None = None,
    hold_out: float = 0.0,
    seed: int = 0,
    split: str = "test",
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Index a BEIR dataset less a held-out share of its gold documents; score retrieval and answers per query.

    A query whose gold documents were all held out must be refused; the others must be answered, their first
    citation from a gold document. `index_dir` keeps the index for a later run with the same seed (ingest is
    incremental, so a second run only re-reads the files).
    """
    corpus, queries, qrels = load_beir(directory, split)
    held = held_out_docs(qrels, hold_out, seed)
    with tempfile.TemporaryDirectory(prefix="assistant-beir-") as tmp:
        # A kept index reads its documents from a folder kept beside it, so a later run with another seed or
        # split only adds and removes the documents that differ (ingest is incremental per folder).
        docs_dir = index_dir.with_name(index_dir.name + ".docs") if index_dir else Path(tmp) / "docs"
        if index_dir is not None:
            _check_own_index(index_dir, docs_dir)
        target = ingest_corpus(directory, corpus, held, docs_dir,
                               settings.with_overrides(index_dir=index_dir or Path(tmp) / "index"))
        index = Index(target.index_dir, target.chroma_url)
        try:
            slug_to_id = {d.doc_id: Path(d.source).stem for d in index.manifest.documents()}
            retriever = Retriever(index, target.embed_model, runtime=target.embed_runtime)
            answerer = Answerer(retriever)
            retriever.embedder.embed_query("warm-up")
            runtime = retriever.embedder.runtime
            rows = []
            qs = [q for q in queries if q["_id"] in qrels]
            for i, q in enumerate(qs):
                rel = {d: v for d, v in qrels[q["_id"]].items() if v > 0}
                t0 = time.perf_counter()
                hits = retriever.search(q["text"], k=10, mode=mode)  # what `ask` reads (as evaluate_questions does)
                answer = answerer.compose(q["text"], detect_language(q["text"]), hits[:8])
                dt = time.perf_counter() - t0
                # ranked as evaluate_dataset ranks: 30 chunks, so that ten documents are there to score at most 3 a document
                deep = retriever.search(q["text"], k=30, mode=mode)
                ranked = [slug_to_id.get(d, d) for d in dict.fromkeys(h.chunk.doc_id for h in deep)][:10]
                cited_all = [slug_to_id.get(c.doc_id) for c in answer.citations]
                cited = cited_all[0] if cited_all else None
                candidate = slug_to_id.get(answer.candidate_doc) if answer.candidate_doc else None
                row = {
                    "id": q["_id"], "question": q["text"], "answerable": any(d not in held for d in rel),
                    "refused": answer.refused, "refusal_reason": answer.refusal_reason,
                    "cited": cited, "correct": cited in rel, "any_gold": any(c in rel for c in cited_all),
                    "candidate": candidate, "candidate_gold": candidate in rel,
                    "label": answer.label_key(), "confidence": round(answer.confidence, 4),
                    "answer": answer.answer[:300], "latency_ms": round(dt * 1000, 1), "top": ranked[:3],
                    "features": answer.evidence,
                }
                if row["answerable"]:  # against the gold documents still in the index
                    row.update(document_ranking(ranked, {d: v for d, v in rel.items() if d not in held}))
                rows.append(row)
                if progress:
                    progress(i + 1, len(qs))
        finally:
            index.close()
    ans = [r for r in rows if r["answerable"]]
    agg: dict = {k: round(statistics.fmean(r[k] for r in ans), 4) if ans else None
                 for k in ("recall@1", "recall@5", "recall@10", "mrr", "ndcg@10")}
    agg.update(answer_scores(rows))
    lat = [r["latency_ms"] for r in rows]
    agg["latency_p50_ms"] = round(percentile(lat, 50), 1)
    agg["latency_p95_ms"] = round(percentile(lat, 95), 1)
    agg["queries"] = len(rows)
    agg["documents"] = len(corpus) - len(held)
    agg["held_out"] = len(held)
    config = {"dataset": str(directory), "split": split, "mode": mode, "model": settings.embed_model,
              "runtime": runtime, "hold_out_gold": hold_out, "seed": seed}
    return {"config": config, "aggregate": {"overall": agg}, "questions": rows}
