"""Convert the SweFAQ dev split into the BEIR retrieval layout.

SweFAQ v2.0 (SuperLim 2, Språkbanken Text, University of Gothenburg; creator
Aleksandrs Berdicevskis; licence CC BY 4.0) holds one question per line with
``question``, ``candidate_answers`` (all answers of its category), ``label``
(index of the correct answer) and ``category_id``.

The conversion follows MTEB's SweFaqRetrieval task:

* every distinct answer text (exact match after stripping surrounding
  whitespace, across all lines) becomes one document;
* every question (one per input line) becomes one query;
* the labelled answer is that query's single relevant document (score 1).

Ids are assigned in order of first appearance (``d0001``, ``q0001``, ...), so
the output is deterministic for a given input file.

Output, written under ``--out``::

    corpus.jsonl      {"_id": "d0001", "title": "", "text": "..."}
    queries.jsonl     {"_id": "q0001", "text": "..."}
    qrels/test.tsv    query-id<TAB>corpus-id<TAB>score

Relative ``--src``/``--out`` paths are resolved against the repository root.

Usage (from the repository root)::

    python eval/datasets/convert_swefaq.py
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SRC = Path("/work/shared/datasets/swefaq-dev/swefaq_dev.jsonl")
DEFAULT_OUT = Path("eval/datasets/swefaq-dev")


def resolve(path: Path) -> Path:
    """Return ``path`` unchanged if absolute, else relative to the repo root."""
    return path if path.is_absolute() else REPO_ROOT / path


def read_rows(src: Path) -> list[dict]:
    """Read and validate the SweFAQ JSON Lines file."""
    rows: list[dict] = []
    with src.open(encoding="utf-8") as fh:
        for lineno, line in enumerate(fh, start=1):
            if not line.strip():
                continue
            row = json.loads(line)
            answers = row["candidate_answers"]
            label = row["label"]
            if not isinstance(label, int) or not 0 <= label < len(answers):
                raise ValueError(f"{src}:{lineno}: label {label!r} out of range")
            if not row["question"].strip():
                raise ValueError(f"{src}:{lineno}: empty question")
            rows.append(row)
    return rows


def convert(
    rows: list[dict],
) -> tuple[list[dict], list[dict], list[tuple[str, str, int]]]:
    """Build BEIR corpus, queries and qrels from SweFAQ rows."""
    doc_ids: dict[str, str] = {}
    corpus: list[dict] = []

    def doc_id(text: str) -> str:
        key = text.strip()
        if key not in doc_ids:
            doc_ids[key] = f"d{len(doc_ids) + 1:04d}"
            corpus.append({"_id": doc_ids[key], "title": "", "text": key})
        return doc_ids[key]

    queries: list[dict] = []
    qrels: list[tuple[str, str, int]] = []
    for i, row in enumerate(rows, start=1):
        ids = [doc_id(answer) for answer in row["candidate_answers"]]
        qid = f"q{i:04d}"
        queries.append({"_id": qid, "text": row["question"].strip()})
        qrels.append((qid, ids[row["label"]], 1))
    return corpus, queries, qrels


def write_jsonl(path: Path, records: list[dict]) -> None:
    """Write records as UTF-8 JSON Lines (non-ASCII kept as is)."""
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")


def write_qrels(path: Path, qrels: list[tuple[str, str, int]]) -> None:
    """Write qrels as a BEIR TSV with a header line."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        fh.write("query-id\tcorpus-id\tscore\n")
        for qid, did, score in qrels:
            fh.write(f"{qid}\t{did}\t{score}\n")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--src", type=Path, default=DEFAULT_SRC, help="SweFAQ dev JSONL file"
    )
    parser.add_argument(
        "--out", type=Path, default=DEFAULT_OUT, help="BEIR output directory"
    )
    args = parser.parse_args(argv)

    src = resolve(args.src)
    out = resolve(args.out)
    rows = read_rows(src)
    corpus, queries, qrels = convert(rows)

    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / "corpus.jsonl", corpus)
    write_jsonl(out / "queries.jsonl", queries)
    write_qrels(out / "qrels" / "test.tsv", qrels)

    n_answers = sum(len(row["candidate_answers"]) for row in rows)
    n_relevant_docs = len({did for _, did, _ in qrels})
    print(f"input lines:        {len(rows)}")
    print(f"candidate answers:  {n_answers} (with repeats)")
    print(f"documents:          {len(corpus)}")
    print(f"queries:            {len(queries)}")
    print(f"qrels:              {len(qrels)}")
    print(f"distinct relevant:  {n_relevant_docs}")
    print(f"written to:         {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
