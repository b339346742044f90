"""Ingest the municipal PDF set and score its questions: facts, page-exact citations, refusals, titles.

    python eval/pdfs/make_pdfs.py                 # writes eval/out/pdfs/corpus
    python eval/pdfs/score.py [--split dev|test|all] [--index DIR] [--json]

A question counts as answered when the answer holds every fact (cells are compared without the ' | '
between them and with whitespace collapsed); its citation is right when one citation is in the gold
document, on the gold page, holds every fact and is at most 200 characters (a row or a sentence, not
a whole table run together). An unanswerable question must be refused. A title is
right when it equals the gold title (whitespace collapsed).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from assistant.answering import Answerer  # noqa: E402
from assistant.config import Settings  # noqa: E402
from assistant.language import detect_language  # noqa: E402
from assistant.retrieval import Retriever  # noqa: E402
from assistant.stores import Index  # noqa: E402

FOCUSED_CHARS = 200  # a cited quote longer than this is a block of text (a whole table), not the answer


def norm(text: str) -> str:
    """Lowercase, no table cell bars, whitespace collapsed."""
    return " ".join(text.replace("|", " ").lower().split())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--split", default="all")
    ap.add_argument("--corpus", default=str(ROOT / "eval/out/pdfs/corpus"))
    ap.add_argument("--index", default=None, help="reuse (or build) the index here; default: a fresh temp folder")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    spec = yaml.safe_load((ROOT / "eval/pdfs/questions.yaml").read_text(encoding="utf-8"))
    index_dir = Path(args.index or tempfile.mkdtemp(prefix="pdfset-"))
    ing = subprocess.run([sys.executable, "-m", "assistant", "ingest", args.corpus, "--index", str(index_dir), "--json"],
                         cwd=ROOT, capture_output=True, text=True)
    if ing.returncode not in (0, 3):
        sys.exit(f"ingest failed: {ing.stderr.strip() or ing.stdout.strip()}")
    failed = json.loads(ing.stdout).get("failed", []) if ing.stdout.strip().startswith("{") else []
    settings = Settings(index_dir=index_dir)
    index = Index(index_dir)
    retriever = Retriever(index, settings.embed_model, runtime=settings.embed_runtime)
    answerer = Answerer(retriever)
    docs = {Path(d.source).stem: d for d in index.manifest.documents()}
    rows = []
    for q in spec["questions"]:
        if args.split != "all" and q["split"] != args.split:
            continue
        hits = retriever.search(q["question"], k=10)
        a = answerer.compose(q["question"], detect_language(q["question"]), hits[:8])
        facts = [norm(f) for f in q["facts"]]
        if q["doc"] is None:
            ok = cited = a.refused
        else:
            ok = not a.refused and all(f in norm(a.answer) for f in facts)
            cited = any(Path(c.source).stem == q["doc"] and c.page == q.get("page") and all(f in norm(c.quote) for f in facts)
                        and len(c.quote) <= FOCUSED_CHARS for c in a.citations)
        rows.append({"id": q["id"], "split": q["split"], "kind": q["kind"], "ok": ok, "cited": cited,
                     "refused": a.refused, "answer": a.answer[:300],
                     "pages": [(Path(c.source).stem[:24], c.page) for c in a.citations],
                     "reason": a.refusal_reason})
    titles = {stem: (docs[stem].title if stem in docs else None) for stem in spec["titles"]}
    title_ok = {stem: t is not None and " ".join(t.split()) == " ".join(spec["titles"][stem].split())
                for stem, t in titles.items()}
    out = {
        "split": args.split, "questions": len(rows),
        "answered": round(sum(r["ok"] for r in rows) / len(rows), 3),
        "cited_on_page": round(sum(r["cited"] for r in rows) / len(rows), 3),
        "by_kind": {k: f"{sum(r['ok'] for r in rows if r['kind'] == k)}/{sum(1 for r in rows if r['kind'] == k)}"
                    for k in sorted({r["kind"] for r in rows})},
        "titles_right": f"{sum(title_ok.values())}/{len(title_ok)}",
        "titles": titles,
        "not_ingested": [f.get("source") + ": " + f.get("reason", "") for f in failed],
        "rows": rows,
    }
    index.close()
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=1))
        return
    for r in rows:
        mark = "ok " if r["ok"] else "-- "
        print(f"{mark}{'c' if r['cited'] else ' '} {r['id']} {r['kind']:<12} {r['pages']} {r['reason'] or r['answer'][:110]!r}")
    for stem, t in titles.items():
        print(f"{'ok' if title_ok[stem] else '--'} title {stem}: {t!r}")
    print({k: out[k] for k in ("split", "questions", "answered", "cited_on_page", "by_kind", "titles_right", "not_ingested")})


if __name__ == "__main__":
    main()
