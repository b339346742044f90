"""Evaluation: retrieval, fact recall, citation and refusal scores on a fixed question set or a BEIR dataset."""

from __future__ import annotations

import json
import math
import statistics
import tempfile
import time
import unicodedata
from collections.abc import Callable, Iterator
from dataclasses import MISSING, dataclass, field, replace
from pathlib import Path

from .answering import Answerer
from .config import Settings
from .errors import AssistantError
from .language import detect_language
from .retrieval import Hit, Retriever
from .stores import Index, open_index

K_VALUES = (1, 5, 10)
# The gate fails when a quality metric drops below the baseline by more than the tolerance (absolute, on
# a 0–1 scale): 0.02 overall, and never less than one question's worth (1/n) in a group of n questions,
# so that a single borderline question in a small group (11 English questions) cannot fail the build.
# Citation verifiability must always be 1.0. Latency is reported, never gated (it depends on the machine).
GATE_TOLERANCE = 0.02
HIGHER_IS_BETTER = (
    "doc_recall@1", "doc_recall@5", "doc_recall@10", "doc_mrr", "doc_ndcg@10",
    "passage_recall@1", "passage_recall@5", "passage_recall@10", "passage_mrr", "passage_ndcg@10",
    "fact_recall", "citation_precision", "citation_verifiability",
    "refusal_precision", "refusal_recall", "answer_accuracy",
)
LOWER_IS_BETTER = ("false_refusal_rate",)
SPEED = ("latency_p50_ms", "latency_p95_ms")
MAIN_CHART = ("doc_ndcg@10", "passage_ndcg@10", "fact_recall", "citation_precision", "refusal_recall", "answer_accuracy")


@dataclass
class Question:
    """One evaluation question with its gold documents, supporting passages and required facts."""

    id: str
    language: str
    question: str
    answerable: bool
    kind: str = ""
    gold_docs: list[str] = field(default_factory=list)
    supporting: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)


def load_questions(path: Path) -> list[Question]:
    """Questions from a YAML (`questions:` list) or JSONL file."""
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AssistantError(f"{path}: cannot read the question set ({exc.strerror})") from None
    import yaml

    try:
        if path.suffix in (".jsonl", ".json"):
            items = [json.loads(line) for line in raw.splitlines() if line.strip()]
        else:
            data = yaml.safe_load(raw) or {}
            items = data.get("questions", data) if isinstance(data, dict) else data
    except (ValueError, yaml.YAMLError) as exc:
        raise AssistantError(f"{path}: not a question set ({' '.join(str(exc).split())[:160]})") from None
    if not isinstance(items, list):
        raise AssistantError(f"{path}: not a question set (expected a list of questions under `questions:`)")
    out = []
    for it in checked_items(path, items, Question, "question"):
        out.append(Question(**{k: it[k] for k in Question.__dataclass_fields__ if k in it}))
    if not out:
        raise AssistantError(f"{path}: no questions")
    return out


def checked_items(path: Path, items: list, record: type, noun: str) -> Iterator[dict]:
    """Each item of a YAML/JSON set, after checking it is a mapping holding the dataclass `record`'s required fields."""
    fields = record.__dataclass_fields__
    required = [k for k, f in fields.items() if f.default is MISSING and f.default_factory is MISSING]
    for n, it in enumerate(items, 1):
        if not isinstance(it, dict):
            raise AssistantError(f"{path}: {noun} {n} is not a mapping of {', '.join(required)}")
        missing = [k for k in required if k not in it]
        if missing:
            raise AssistantError(f"{path}: {noun} {it.get('id', n)} lacks {', '.join(missing)}")
        yield it


def norm(text: str) -> str:
    """Case-, width- and whitespace-insensitive form for fact matching."""
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


# --- ranking metrics ---------------------------------------------------------------------------


def recall_at(ranked: list[bool], n_relevant: int, k: int) -> float:
    """Share of the relevant items found in the top k (ranked: relevance of each result)."""
    if n_relevant == 0:
        return 0.0
    return min(1.0, sum(ranked[:k]) / n_relevant)


def mrr(ranked: list[bool], k: int = 10) -> float:
    """Reciprocal rank of the first relevant result within k."""
    for i, rel in enumerate(ranked[:k]):
        if rel:
            return 1.0 / (i + 1)
    return 0.0


def ndcg_at(gains: list[float], ideal: list[float], k: int = 10) -> float:
    """nDCG@k with the given gains in ranked order and the ideal gains."""
    dcg = sum(g / math.log2(i + 2) for i, g in enumerate(gains[:k]))
    idcg = sum(g / math.log2(i + 2) for i, g in enumerate(sorted(ideal, reverse=True)[:k]))
    return dcg / idcg if idcg > 0 else 0.0


def _ranking_scores(prefix: str, ranked: list[bool], n_relevant: int) -> dict[str, float]:
    out = {f"{prefix}_recall@{k}": recall_at(ranked, n_relevant, k) for k in K_VALUES}
    out[f"{prefix}_mrr"] = mrr(ranked)
    out[f"{prefix}_ndcg@10"] = ndcg_at([1.0 if r else 0.0 for r in ranked], [1.0] * n_relevant)
    return out


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile of some values (nearest rank; 0 for none)."""
    if not values:
        return 0.0
    vs = sorted(values)
    idx = min(len(vs) - 1, max(0, math.ceil(p / 100 * len(vs)) - 1))
    return vs[idx]


# --- the question set ---------------------------------------------------------------------------


def _supporting_spans(q: Question, index: Index) -> list[tuple[str, int, int]]:
    spans = []
    for doc_id in q.gold_docs:
        text = index.manifest.document_text(doc_id)
        if text is None:
            raise AssistantError(f"gold document '{doc_id}' of {q.id} is not in the index; ingest corpus/ first")
        for passage in q.supporting:
            pos = text.find(passage)
            if pos >= 0:
                spans.append((doc_id, pos, pos + len(passage)))
    return spans


def _overlaps(doc_id: str, start: int, end: int, spans: list[tuple[str, int, int]]) -> list[int]:
    return [i for i, (d, s, e) in enumerate(spans) if d == doc_id and start < e and s < end]


def _passage_scores(hits: list[Hit], spans: list[tuple[str, int, int]], index: Index) -> dict[str, float]:
    """Passage-level scores: recall = share of supporting spans covered by the top k chunks."""
    relevant = [bool(_overlaps(h.chunk.doc_id, h.chunk.start, h.chunk.end, spans)) for h in hits]
    n_rel_chunks = sum(
        1 for d in {d for d, _, _ in spans} for c in index.manifest.chunks_of(d) if _overlaps(d, c.start, c.end, spans)
    )
    out = {}
    for k in K_VALUES:
        covered = {i for h in hits[:k] for i in _overlaps(h.chunk.doc_id, h.chunk.start, h.chunk.end, spans)}
        out[f"passage_recall@{k}"] = len(covered) / len(spans) if spans else 0.0
    out["passage_mrr"] = mrr(relevant)
    out["passage_ndcg@10"] = ndcg_at([1.0 if r else 0.0 for r in relevant], [1.0] * max(1, n_rel_chunks))
    return out


def score_question(q: Question, hits: list[Hit], answer, index: Index, seconds: float) -> dict:
    """All per-question scores."""
    row: dict = {"id": q.id, "language": q.language, "kind": q.kind, "answerable": q.answerable,
                 "question": q.question, "refused": answer.refused, "answer": answer.answer,
                 "refusal_reason": getattr(answer, "refusal_reason", None),
                 "latency_ms": round(seconds * 1000, 1)}
    docs_ranked = list(dict.fromkeys(h.chunk.doc_id for h in hits))
    row["retrieved_docs"] = docs_ranked[:5]
    if q.answerable:
        spans = _supporting_spans(q, index)
        row.update(_ranking_scores("doc", [d in q.gold_docs for d in docs_ranked], len(q.gold_docs)))
        row.update(_passage_scores(hits, spans, index))
        text = norm(answer.answer) if not answer.refused else ""
        found = [f for f in q.facts if norm(f) in text]
        row["fact_recall"] = len(found) / len(q.facts) if q.facts else 1.0
        row["missing_facts"] = [f for f in q.facts if f not in found]
        good = [
            c for c in answer.citations
            if any(norm(f) in norm(c.quote) for f in q.facts)
            or any(c.doc_id == d and c.start < e and s < c.end for d, s, e in spans)
        ]
        row["citation_precision"] = len(good) / len(answer.citations) if answer.citations else None
        row["answer_accuracy"] = 1.0 if (not answer.refused and row["fact_recall"] == 1.0) else 0.0
    else:
        row["answer_accuracy"] = 1.0 if answer.refused else 0.0
    verif = [index.manifest.document_text(c.doc_id)[c.start : c.end] == c.quote for c in answer.citations + answer.see_also]
    row["citations"] = len(answer.citations)
    row["citation_verifiability"] = sum(verif) / len(verif) if verif else None
    return row


def aggregate(rows: list[dict]) -> dict:
    """Mean scores of a group of question rows, plus refusal and latency figures."""
    out: dict = {"questions": len(rows)}
    ans = [r for r in rows if r["answerable"]]
    una = [r for r in rows if not r["answerable"]]
    keys = [k for k in HIGHER_IS_BETTER if k.startswith(("doc_", "passage_"))] + ["fact_recall"]
    for k in keys:
        vals = [r[k] for r in ans if r.get(k) is not None]
        out[k] = round(statistics.fmean(vals), 4) if vals else None
    cp = [r["citation_precision"] for r in ans if r.get("citation_precision") is not None]
    out["citation_precision"] = round(statistics.fmean(cp), 4) if cp else None
    cv = [r["citation_verifiability"] for r in rows if r.get("citation_verifiability") is not None]
    out["citation_verifiability"] = round(statistics.fmean(cv), 4) if cv else 1.0
    refused = [r for r in rows if r["refused"]]
    tp = sum(1 for r in una if r["refused"])
    out["refusal_precision"] = round(tp / len(refused), 4) if refused else (1.0 if not una else 0.0)
    out["refusal_recall"] = round(tp / len(una), 4) if una else None
    out["false_refusal_rate"] = round(sum(1 for r in ans if r["refused"]) / len(ans), 4) if ans else None
    out["answer_accuracy"] = round(statistics.fmean(r["answer_accuracy"] for r in rows), 4) if rows else None
    lat = [r["latency_ms"] for r in rows]
    out["latency_p50_ms"] = round(percentile(lat, 50), 1)
    out["latency_p95_ms"] = round(percentile(lat, 95), 1)
    return out


def _groups(rows: list[dict]) -> dict:
    agg = {"overall": aggregate(rows)}
    for lang in sorted({r["language"] for r in rows}):
        agg[lang] = aggregate([r for r in rows if r["language"] == lang])
    kinds = {}
    for kind in sorted({r["kind"] for r in rows if r["kind"]}):
        kinds[kind] = aggregate([r for r in rows if r["kind"] == kind])
    return agg, kinds


def evaluate_questions(
    questions: list[Question],
    settings: Settings,
    mode: str = "hybrid",
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Run every question through the same retrieval and answering code as `ask`, and score it.

    The index is the one `ask` would use: a local index folder, or in team mode this client's cache
    caught up to the team server's head.
    """
    index = open_index(settings)
    try:
        retriever = Retriever(index, settings.embed_model, runtime=settings.embed_runtime)
        answerer = Answerer(retriever)
        retriever.embedder.embed_query("opvarmning")  # load the model outside the timings
        rows = []
        for i, q in enumerate(questions):
            t0 = time.perf_counter()
            hits = retriever.search(q.question, k=10, mode=mode)
            answer = answerer.compose(q.question, detect_language(q.question), hits[:8])
            rows.append(score_question(q, hits, answer, index, time.perf_counter() - t0))
            rows[-1]["best_sentence_score"] = answer.best_score
            rows[-1]["coverage"] = round(answer.coverage, 4)
            rows[-1]["top_dense"] = round(max((h.dense or 0.0) for h in hits[:5]), 4) if hits else None
            if progress:
                progress(i + 1, len(questions))
        aggregate_, kinds = _groups(rows)
        config = {"model": index.model, "runtime": retriever.embedder.runtime, "mode": mode,
                  "index": str(index.dir), "questions": len(questions)}
        if index.team is not None:  # which team index, at which generation
            head = index.team.head_seen or {}
            config.update(server=index.team.url, collection=index.team.name,
                          server_generation=int(head.get("generation") or 0))
        return {
            "config": config,
            "aggregate": aggregate_,
            "by_kind": kinds,
            "questions": rows,
        }
    finally:
        index.close()


# --- BEIR datasets -----------------------------------------------------------------------------


def _read_jsonl(path: Path) -> list[dict]:
    try:
        return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    except OSError as exc:
        raise AssistantError(f"{path}: cannot read ({exc.strerror})") from None


def load_beir(directory: Path, split: str = "test") -> tuple[list[dict], list[dict], dict[str, dict[str, int]]]:
    """corpus.jsonl, queries.jsonl and qrels/<split>.tsv of a BEIR-layout dataset."""
    corpus = _read_jsonl(directory / "corpus.jsonl")
    queries = _read_jsonl(directory / "queries.jsonl")
    qrels: dict[str, dict[str, int]] = {}
    try:
        lines = (directory / "qrels" / f"{split}.tsv").read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise AssistantError(f"{directory}/qrels/{split}.tsv: cannot read ({exc.strerror})") from None
    for line in lines[1:]:
        parts = line.split("\t")
        if len(parts) >= 3:
            qrels.setdefault(parts[0], {})[parts[1]] = int(float(parts[2]))
    return corpus, queries, qrels


def document_ranking(ranked: list[str], rel: dict[str, int]) -> dict[str, float]:
    """recall@1/5/10, MRR and nDCG@10 of a ranked list of document ids against graded judgements."""
    flags = [rel.get(d, 0) > 0 for d in ranked]
    n_rel = sum(1 for v in rel.values() if v > 0)
    out = {f"recall@{k}": recall_at(flags, n_rel, k) for k in K_VALUES}
    out["mrr"] = mrr(flags)
    out["ndcg@10"] = ndcg_at([float(rel.get(d, 0)) for d in ranked], [float(v) for v in rel.values()])
    return out


def ingest_corpus(directory: Path, corpus: list[dict], held: set[str], docs_dir: Path, target: Settings) -> Settings:
    """Write a BEIR corpus (less the held-out documents) as text files in docs_dir and ingest them into target.

    Returns the settings of the index it built: never a team server's index (in team mode the dataset gets
    its own local index; see `dataset_index_note`).
    """
    from .ingestion import ingest

    if target.team_mode:
        target = replace(target, chroma_url=None)
    docs_dir.mkdir(parents=True, exist_ok=True)
    keep = set()
    for d in corpus:
        if d["_id"] in held:
            continue
        path = docs_dir / f"{d['_id']}.txt"
        keep.add(path.name)
        body = (d.get("title") + "\n\n" if d.get("title") else "") + d["text"]
        if not path.exists() or path.read_text(encoding="utf-8") != body:
            path.write_text(body, encoding="utf-8")
    for path in docs_dir.glob("*.txt"):
        if path.name not in keep:  # files of another run with other held-out documents
            path.unlink()
    report = ingest([docs_dir], target)
    if report.failed:
        raise AssistantError(f"{directory}: {len(report.failed)} documents failed to ingest: {report.failed[0]}")
    return target


def dataset_index_note(dataset: Path, settings: Settings) -> str | None:
    """The one line to show when a dataset eval will not use the configured team index (team mode), else None."""
    if not settings.team_mode:
        return None
    return (f"--dataset builds its own temporary index of {dataset} on this machine; the team index "
            f"'{settings.chroma_collection}' on {settings.chroma_url} is not used or changed")


def evaluate_dataset(
    directory: Path,
    settings: Settings,
    mode: str = "hybrid",
    index_dir: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Index a BEIR dataset with the configured pipeline and score retrieval on its queries."""
    corpus, queries, qrels = load_beir(directory)
    with tempfile.TemporaryDirectory(prefix="assistant-beir-") as tmp:
        docs_dir = Path(tmp) / "docs"
        target = ingest_corpus(directory, corpus, set(), docs_dir, settings.with_overrides(index_dir=index_dir or Path(tmp) / "index"))
        index = Index(target.index_dir, target.chroma_url)
        try:
            slug_to_id = {d.doc_id: Path(d.source).stem for d in index.manifest.documents()}
            retriever = Retriever(index, target.embed_model, runtime=target.embed_runtime)
            retriever.embedder.embed_query("warm-up")
            runtime = retriever.embedder.runtime
            rows = []
            qs = [q for q in queries if q["_id"] in qrels]
            for i, q in enumerate(qs):
                t0 = time.perf_counter()
                hits = retriever.search(q["text"], k=30, mode=mode)
                dt = time.perf_counter() - t0
                ranked = [slug_to_id.get(d, d) for d in dict.fromkeys(h.chunk.doc_id for h in hits)][:10]
                row = {"id": q["_id"], "latency_ms": round(dt * 1000, 1), "top": ranked[:3]}
                row.update(document_ranking(ranked, qrels[q["_id"]]))
                rows.append(row)
                if progress:
                    progress(i + 1, len(qs))
        finally:
            index.close()
    agg = {k: round(statistics.fmean(r[k] for r in rows), 4) for k in ("recall@1", "recall@5", "recall@10", "mrr", "ndcg@10")}
    lat = [r["latency_ms"] for r in rows]
    agg["latency_p50_ms"] = round(percentile(lat, 50), 1)
    agg["latency_p95_ms"] = round(percentile(lat, 95), 1)
    agg["queries"] = len(rows)
    agg["documents"] = len(corpus)
    return {"config": {"dataset": str(directory), "mode": mode, "model": settings.embed_model, "runtime": runtime},
            "aggregate": {"overall": agg}, "questions": rows}


# --- baseline, gate, report, chart -------------------------------------------------------------


def load_baseline(path: Path) -> dict:
    """A results.json written by `assistant eval`, or an error naming the file and what is wrong with it."""
    try:
        base = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise AssistantError(f"{path}: cannot read the baseline ({exc})") from None
    overall = base.get("aggregate", {}).get("overall") if isinstance(base, dict) else None
    if not isinstance(overall, dict) or not overall:
        raise AssistantError(f"{path}: not an `assistant eval` results.json (no aggregate scores)")
    return base


def compare(current: dict, baseline: dict) -> list[dict]:
    """Current / baseline / delta for every metric of every group both results have."""
    rows = []
    for group, metrics in current["aggregate"].items():
        base = baseline.get("aggregate", {}).get(group)
        if not base:
            continue
        n = metrics.get("questions") or 0
        tol = max(GATE_TOLERANCE, 1.0 / n + 1e-9) if n else GATE_TOLERANCE
        for key, cur in metrics.items():
            b = base.get(key)
            if not isinstance(cur, (int, float)) or not isinstance(b, (int, float)) or key == "questions":
                continue
            worse = False
            if key in HIGHER_IS_BETTER:
                worse = cur < b - tol
            elif key in LOWER_IS_BETTER:
                worse = cur > b + tol
            if key == "citation_verifiability" and cur < 1.0:
                worse = True
            rows.append({"group": group, "metric": key, "current": cur, "baseline": b,
                         "delta": round(cur - b, 4), "tolerance": round(tol, 4), "worse": worse})
    return rows


def write_report(results: dict, out_dir: Path, comparison: list[dict] | None = None) -> list[Path]:
    """results.json, report.md and chart.png in out_dir."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / "results.json", out_dir / "report.md"]
    paths[0].write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    paths[1].write_text(_markdown(results, comparison), encoding="utf-8")
    chart = _chart(results, out_dir / "chart.png")
    if chart:
        paths.append(chart)
    return paths


def _fmt(v) -> str:
    if v is None:
        return "–"
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def _markdown(results: dict, comparison: list[dict] | None) -> str:
    agg = results["aggregate"]
    groups = list(agg)
    metrics = [k for k in agg["overall"] if k != "questions"]
    lines = ["# Evaluation report", "", f"Configuration: `{json.dumps(results.get('config', {}), ensure_ascii=False)}`", ""]
    lines += ["| metric | " + " | ".join(groups) + " |", "|---|" + "---:|" * len(groups)]
    lines += ["| questions | " + " | ".join(str(agg[g].get("questions", "")) for g in groups) + " |"]
    for m in metrics:
        lines.append(f"| {m} | " + " | ".join(_fmt(agg[g].get(m)) for g in groups) + " |")
    if results.get("by_kind"):
        kinds = results["by_kind"]
        lines += ["", "## By question kind", "", "| metric | " + " | ".join(kinds) + " |", "|---|" + "---:|" * len(kinds)]
        for m in ("questions", "doc_ndcg@10", "passage_ndcg@10", "fact_recall", "answer_accuracy", "refusal_recall"):
            lines.append(f"| {m} | " + " | ".join(_fmt(kinds[k].get(m)) for k in kinds) + " |")
    if comparison:
        lines += ["", "## Against the baseline", "", "| group | metric | current | baseline | delta | |", "|---|---|---:|---:|---:|---|"]
        for r in comparison:
            lines.append(f"| {r['group']} | {r['metric']} | {_fmt(r['current'])} | {_fmt(r['baseline'])} | {r['delta']:+.3f} | {'WORSE' if r['worse'] else ''} |")
    failures = [q for q in results.get("questions", []) if q.get("answer_accuracy") == 0.0]
    if failures:
        lines += ["", "## Questions answered wrongly", ""]
        for q in failures:
            what = f"refused ({q.get('refusal_reason')})" if q.get("refused") else f"missing {q.get('missing_facts')}"
            if not q.get("answerable", True):
                what = f"answered an unanswerable question: {q.get('answer', '')[:100]}"
            lines.append(f"- `{q['id']}` ({q.get('kind')}) {q.get('question')} — {what}")
    return "\n".join(lines) + "\n"


def _chart(results: dict, path: Path) -> Path | None:
    agg = results["aggregate"]
    metrics = [m for m in MAIN_CHART if agg["overall"].get(m) is not None]
    if not metrics:
        metrics = [m for m in ("recall@1", "recall@10", "mrr", "ndcg@10") if m in agg["overall"]]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    groups = list(agg)
    fig, ax = plt.subplots(figsize=(max(6, 1.6 * len(metrics)), 4))
    width = 0.8 / len(groups)
    for gi, g in enumerate(groups):
        vals = [agg[g].get(m) or 0.0 for m in metrics]
        ax.bar([i + gi * width for i in range(len(metrics))], vals, width, label=g)
    ax.set_xticks([i + width * (len(groups) - 1) / 2 for i in range(len(metrics))])
    ax.set_xticklabels(metrics, rotation=20, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel("score")
    ax.set_title("Policy assistant evaluation by language")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path
