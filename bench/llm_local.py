"""`--llm` with the in-process GGUF model against the extractive answers (issue 21).

For each question: the same retrieval as `ask`/`eval` (k=10, the best 8 read), the extractive answer, and the
checked generative answer from the local model (provider "local"). Prints one JSON object of aggregates and
writes every row (raw model reply, kept and dropped sentences with the reason) to --out for reading by hand.

    .venv/bin/python bench/llm_local.py --model-path M.gguf --set questions [--sample N --seed S] --out bench/out/x.json
    .venv/bin/python bench/llm_local.py --model-path M.gguf --set swefaq --split dev --hold-out 0.5 --sample 40

Sets: `questions` = eval/questions.yaml (77, a regression set) over the seed corpus; `swefaq` = SweFAQ-dev (the
`dev` split by default) with a seeded share of gold documents held out, so those questions must be refused.
Figures: answer accuracy, fact recall (77 set), answered-from-gold (SweFAQ), refusal precision/recall, by
language (and kind); how many generated sentences the checks dropped and why; fallback rate; latency p50/p95
per answer; generation tokens/s and prompt tokens/s; model load time; peak RSS.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
import assistant  # noqa: E402,F401,I001

from assistant import llm as llm_mod  # noqa: E402
from assistant.answering import Answerer  # noqa: E402
from assistant.config import LLMSettings, Settings  # noqa: E402
from assistant.evaluation import load_beir, load_questions, percentile, score_question  # noqa: E402
from assistant.heldout import held_out_docs  # noqa: E402
from assistant.ingestion import ingest  # noqa: E402
from assistant.language import detect_language  # noqa: E402
from assistant.llm import LLMAnswerer  # noqa: E402
from assistant.retrieval import Retriever  # noqa: E402
from assistant.stores import Index  # noqa: E402


def _share(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


def summarise(rows: list[dict], which: str) -> dict:
    """Answer and refusal scores of one answer mode ('ext' or 'llm') over rows."""
    ans = [r for r in rows if r["answerable"]]
    una = [r for r in rows if not r["answerable"]]
    refused = [r for r in rows if r[f"{which}_refused"]]
    tp = sum(1 for r in una if r[f"{which}_refused"])
    out = {
        "questions": len(rows),
        "answer_accuracy": _share(sum(r[f"{which}_ok"] for r in rows), len(rows)),
        "refusal_precision": _share(tp, len(refused)) if refused else None,
        "refusal_recall": _share(tp, len(una)),
        "false_refusal_rate": _share(sum(1 for r in ans if r[f"{which}_refused"]), len(ans)),
    }
    fr = [r[f"{which}_fact_recall"] for r in ans if r.get(f"{which}_fact_recall") is not None]
    if fr:
        out["fact_recall"] = round(statistics.fmean(fr), 4)
    return out


def llm_figures(rows: list[dict]) -> dict:
    """What happened on the generative path: drops, fallbacks, speed."""
    asked = [r for r in rows if r.get("generated") is not None]
    sents = sum(r["kept_sentences"] + len(r["rejected"]) for r in asked)
    dropped = sum(len(r["rejected"]) for r in asked)
    reasons = Counter(_reason_kind(why) for r in asked for _, why in r["rejected"])
    lat = [r["llm_seconds"] for r in asked]
    gen = [r["stats"] for r in asked if r.get("stats") and r["stats"].get("generate_s")]
    gen_tps = [s["completion_tokens"] / s["generate_s"] for s in gen if s["completion_tokens"] > 1]
    pre_tps = [s["prompt_tokens"] / s["first_token_s"] for s in gen if s.get("first_token_s")]
    return {
        "model_asked": len(asked),
        "shown_as_llm": sum(1 for r in asked if r["llm_mode"] == "llm"),
        "shown_answer_accuracy": _share(sum(r["llm_ok"] for r in asked if r["llm_mode"] == "llm"),
                                        sum(1 for r in asked if r["llm_mode"] == "llm")),
        "fallback_rate": _share(sum(1 for r in asked if r["llm_mode"] != "llm"), len(asked)),
        "fallback_reasons": dict(Counter((r["warning"] or "").split(";")[0] for r in asked if r["llm_mode"] != "llm")),
        "sentences_generated": sents,
        "sentences_dropped": dropped,
        "drop_rate": _share(dropped, sents),
        "answers_with_a_drop": _share(sum(1 for r in asked if r["rejected"]), len(asked)),
        "drop_reasons": dict(reasons.most_common()),
        "latency_p50_s": round(percentile(lat, 50), 2) if lat else None,
        "latency_p95_s": round(percentile(lat, 95), 2) if lat else None,
        "generate_tokens_per_s": round(statistics.median(gen_tps), 2) if gen_tps else None,
        "prompt_tokens_per_s": round(statistics.median(pre_tps), 1) if pre_tps else None,
        "prompt_tokens_p50": statistics.median(s["prompt_tokens"] for s in gen) if gen else None,
        "completion_tokens_p50": statistics.median(s["completion_tokens"] for s in gen) if gen else None,
    }


def _reason_kind(why: str) -> str:
    for key in ("no citation", "not a passage number", "which was not given", "written in", "the month",
                "shares no words"):
        if key in why:
            return key
    if why.endswith("is not in the cited passage"):
        token = why[: -len(" is not in the cited passage")]
        return "number not in passage" if any(c.isdigit() for c in token) else "name not in passage"
    return why


class Replay:
    """A stand-in chat model that replays the replies of an earlier run (--replay): the checks alone, re-scored."""

    def __init__(self, path: Path) -> None:
        rows = json.loads(path.read_text(encoding="utf-8"))["rows"]
        self.replies = {r["question"]: (r["generated"], r["stats"]) for r in rows if r.get("generated") is not None}
        self.current: str | None = None
        self.last_stats: dict = {}

    def stream(self, messages):
        question = messages[-1].content.rsplit("\n\n", 2)[-2].split(":", 1)[1].strip()
        text, stats = self.replies.get(question, ("", None))
        self.last_stats = dict(stats or {})
        return iter([text])


def make_answerer(retriever, llm_settings: LLMSettings, replay: Path | None) -> LLMAnswerer:
    """The LLM answerer: the local model, or a replay of an earlier run's replies."""
    if replay is None:
        return LLMAnswerer(retriever, llm_settings)
    return LLMAnswerer(retriever, llm_settings, chat_model=Replay(replay))


def llm_row(llm: LLMAnswerer, question: str, lang: str, hits: list) -> tuple[object, dict]:
    """The generative answer for retrieved hits, and what the model did."""
    model = llm.chat_model()
    model.last_stats = {}
    raw: list[str] = []
    t0 = time.perf_counter()
    ans = llm.answer_from_hits(question, lang, hits, on_token=raw.append)
    dt = time.perf_counter() - t0
    asked = bool(raw) or bool(model.last_stats)
    info = {
        "llm_mode": ans.mode, "llm_refused": ans.refused, "warning": getattr(ans, "warning", None),
        "llm_answer": ans.answer, "generated": "".join(raw) if asked else None,
        "rejected": list(getattr(ans, "rejected", [])),
        "kept_sentences": sum(1 for line in ans.answer.splitlines() if line.strip()) if ans.mode == "llm" else 0,
        "llm_seconds": round(dt, 3), "stats": dict(model.last_stats) if asked else None,
        "llm_citations": [{"doc_id": c.doc_id, "quote": c.quote} for c in ans.citations],
    }
    if ans.mode == "llm":  # count sentences, not lines
        from assistant.chunking import sentence_spans

        info["kept_sentences"] = sum(len(sentence_spans(line)) for line in ans.answer.splitlines() if line.strip())
    return ans, info


def _answerers(index: Index, model: str, warm_up: str, llm_settings: LLMSettings, replay) -> tuple:
    """Retriever (its embedder loaded), extractive answerer, LLM answerer, and the seconds the LLM took to load."""
    retriever = Retriever(index, model)
    retriever.embedder.embed_query(warm_up)
    ext = Answerer(retriever)
    t0 = time.perf_counter()
    llm = make_answerer(retriever, llm_settings, replay)
    return retriever, ext, llm, time.perf_counter() - t0


def _progress(i: int, total: int, qid: str, row: dict) -> None:
    """One line per question on stderr."""
    print(f"[{i + 1}/{total}] {qid} ext={row['ext_ok']} llm={row['llm_ok']} {row['llm_mode']} "
          f"{row['llm_seconds']:.1f}s drops={len(row['rejected'])}", file=sys.stderr, flush=True)


def run_questions(args, llm_settings: LLMSettings, index_dir: Path) -> tuple[list[dict], dict]:
    settings = Settings(index_dir=index_dir)
    if not (index_dir / "manifest.sqlite").exists():
        ingest([ROOT / "corpus"], settings)
    questions = load_questions(ROOT / "eval/questions.yaml")
    if args.sample and args.sample < len(questions):
        questions = sorted(random.Random(args.seed).sample(questions, args.sample), key=lambda q: q.id)
    index = Index(index_dir)
    rows = []
    try:
        retriever, ext, llm, load_s = _answerers(index, settings.embed_model, "opvarmning", llm_settings, args.replay)
        for i, q in enumerate(questions):
            lang = detect_language(q.question)
            t = time.perf_counter()
            hits = retriever.search(q.question, k=10)
            search_s = time.perf_counter() - t
            e = ext.compose(q.question, lang, hits[:8])
            es = score_question(q, hits, e, index, search_s)
            a, info = llm_row(llm, q.question, lang, hits[:8])
            ls = score_question(q, hits, a, index, search_s + info["llm_seconds"])
            row = {"id": q.id, "language": q.language, "kind": q.kind, "answerable": q.answerable,
                   "question": q.question, "facts": q.facts,
                   "ext_refused": e.refused, "ext_ok": es["answer_accuracy"], "ext_fact_recall": es.get("fact_recall"),
                   "ext_answer": e.answer,
                   "llm_ok": ls["answer_accuracy"], "llm_fact_recall": ls.get("fact_recall"),
                   "llm_citation_precision": ls.get("citation_precision"), **info}
            rows.append(row)
            _progress(i, len(questions), q.id, row)
    finally:
        index.close()
    return rows, {"load_s": round(load_s, 2)}


def _faq_ok(ans, answerable: bool, rel: set[str], slug: dict[str, str]) -> float:
    """SweFAQ: an unanswerable question refused, or an answerable one answered with a citation from its gold answer."""
    if not answerable:
        return 1.0 if ans.refused else 0.0
    return 1.0 if (not ans.refused and any(slug.get(c.doc_id) in rel for c in ans.citations)) else 0.0


def run_swefaq(args, llm_settings: LLMSettings, work: Path) -> tuple[list[dict], dict]:
    from assistant.evaluation import ingest_corpus

    directory = ROOT / "eval/datasets/swefaq-dev"
    corpus, queries, qrels = load_beir(directory, args.split)
    held = held_out_docs(qrels, args.hold_out, args.seed)
    settings = Settings(index_dir=work / f"swefaq-{args.split}-{args.hold_out}-{args.seed}")
    ingest_corpus(directory, corpus, held, settings.index_dir.with_name(settings.index_dir.name + ".docs"), settings)
    qs = [q for q in queries if q["_id"] in qrels]
    if args.sample and args.sample < len(qs):
        qs = sorted(random.Random(args.seed).sample(qs, args.sample), key=lambda q: q["_id"])
    index = Index(settings.index_dir)
    rows = []
    try:
        slug = {d.doc_id: Path(d.source).stem for d in index.manifest.documents()}
        retriever, ext, llm, load_s = _answerers(index, settings.embed_model, "uppvärmning", llm_settings, args.replay)
        for i, q in enumerate(qs):
            rel = {d for d, v in qrels[q["_id"]].items() if v > 0}
            answerable = any(d not in held for d in rel)
            lang = detect_language(q["text"])
            hits = retriever.search(q["text"], k=10)
            e = ext.compose(q["text"], lang, hits[:8])
            a, info = llm_row(llm, q["text"], lang, hits[:8])

            row = {"id": q["_id"], "language": lang, "kind": "answerable" if answerable else "unanswerable",
                   "answerable": answerable, "question": q["text"], "gold_text": [d["text"][:600] for d in corpus if d["_id"] in rel],
                   "ext_refused": e.refused, "ext_ok": _faq_ok(e, answerable, rel, slug), "ext_answer": e.answer,
                   "llm_ok": _faq_ok(a, answerable, rel, slug), **info}
            rows.append(row)
            _progress(i, len(qs), q["_id"], row)
    finally:
        index.close()
    return rows, {"load_s": round(load_s, 2), "held_out": len(held)}


def _prompts_sha() -> str:
    """A fingerprint of the answer prompts the run used (prompts/answer_*.md)."""
    import hashlib

    h = hashlib.sha256()
    for p in sorted((ROOT / "prompts").glob("answer_*.md")):
        h.update(p.read_bytes())
    return h.hexdigest()[:12]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-path", required=True, help="the GGUF file")
    ap.add_argument("--set", choices=("questions", "swefaq"), default="questions")
    ap.add_argument("--sample", type=int, default=0, help="a seeded sample of this many questions (0: all)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--split", default="dev", help="SweFAQ split (dev: for tuning; heldout: for reporting)")
    ap.add_argument("--hold-out", type=float, default=0.5, help="SweFAQ: share of gold documents held out")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--context-size", type=int, default=4096)
    ap.add_argument("--passages", type=int, default=llm_mod.PASSAGES, help="how many passages the model reads")
    ap.add_argument("--timeout", type=float, default=60.0, help="the LLM timeout (the whole answer gets 4x)")
    ap.add_argument("--work", type=Path, default=Path(tempfile.gettempdir()) / "assistant-bench-llm",
                    help="where the indexes are kept between runs")
    ap.add_argument("--out", type=Path, help="write the rows and aggregates here (JSON)")
    ap.add_argument("--replay", type=Path, help="re-check the replies stored in an earlier --out file (no model)")
    args = ap.parse_args()

    llm_mod.PASSAGES = args.passages
    prompts_sha = _prompts_sha()  # read at the start: the prompts are read once, at the first answer
    args.work.mkdir(parents=True, exist_ok=True)
    llm_settings = LLMSettings(enabled=True, provider="local", model_path=str(args.model_path), threads=args.threads,
                               context_size=args.context_size, timeout=args.timeout)
    t0 = time.perf_counter()
    if args.set == "questions":
        rows, extra = run_questions(args, llm_settings, args.work / "seed-index")
    else:
        rows, extra = run_swefaq(args, llm_settings, args.work)
    groups: dict = {"overall": rows}
    for lang in sorted({r["language"] for r in rows}):
        groups[lang] = [r for r in rows if r["language"] == lang]
    for kind in sorted({r["kind"] for r in rows}):
        groups[f"kind:{kind}"] = [r for r in rows if r["kind"] == kind]
    result = {
        "config": {"set": args.set, "model_path": str(args.model_path), "sample": args.sample or None, "seed": args.seed,
                   "split": args.split if args.set == "swefaq" else None,
                   "hold_out": args.hold_out if args.set == "swefaq" else None,
                   "threads": args.threads, "context_size": args.context_size, "passages": args.passages,
                   "timeout": args.timeout, "prompts_sha256": prompts_sha},
        "load_s": extra["load_s"],
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "wall_s": round(time.perf_counter() - t0, 1),
        "extractive": {g: summarise(rs, "ext") for g, rs in groups.items()},
        "llm": {g: summarise(rs, "llm") for g, rs in groups.items()},
        "llm_path": {g: llm_figures(rs) for g, rs in groups.items() if not g.startswith("kind:")},
    }
    print(json.dumps(result, ensure_ascii=False, indent=2))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps({**result, "rows": rows}, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
