"""Build a known-item retrieval set (BEIR layout) from the regeringen-sv pages.

Each picked page of regeringen.se becomes one document and its title becomes
the one query that asks for it:

* eligible pages: the first line is a ``# `` heading with a non-empty title,
  the body after the heading has at least ``--min-words`` words (default 120),
  and no other eligible page has the same title (compared case- and
  whitespace-insensitively; such titles cannot name one page);
* ``--docs N`` pages (default 1000) are drawn at random with ``--seed``
  (default 0) and numbered in sorted order of their file names;
* document ``rNNNNN``: ``title`` is empty and ``text`` is the page WITHOUT
  its ``# `` title line, so the query cannot be matched against the title;
* query ``qNNNNN``: the title (the text after ``# ``); its only relevant
  document is ``rNNNNN`` (score 1);
* queries are split into dev and test by the sha1 of the query id (last hex
  digit even: dev, odd: test), which is stable across runs and ``--docs``.

Output, written under ``--out`` (default ``eval/out/regeringen-ki``, which
``.gitignore`` keeps out of the repository; the dataset's licence note asks
not to copy the pages into the repository)::

    corpus.jsonl      {"_id": "r00001", "title": "", "text": "..."}
    queries.jsonl     {"_id": "q00001", "text": "..."}
    qrels/dev.tsv     query-id<TAB>corpus-id<TAB>score   (for fitting and choosing parameters)
    qrels/test.tsv    same header                        (for reporting)
    qrels/all.tsv     dev and test together
    ids.tsv           corpus-id<TAB>query-id<TAB>file name of the page

Relative ``--src``/``--out`` paths are resolved against the repository root.

Usage (from the repository root)::

    .venv/bin/python eval/datasets/make_regeringen.py
    .venv/bin/python eval/datasets/make_regeringen.py --docs 2000 --seed 1 --out eval/out/regeringen-ki-2000
    assistant eval --dataset eval/out/regeringen-ki --out eval/out/regeringen-ki-run
"""

from __future__ import annotations

import argparse
import hashlib
import random
import shutil
import sys
from collections import Counter
from pathlib import Path

from convert_swefaq import write_jsonl, write_qrels  # the same BEIR writers (this folder is on sys.path when run)

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SRC = ROOT.parent / "shared" / "datasets" / "regeringen-sv" / "docs"
DEFAULT_OUT = Path("eval/out/regeringen-ki")
GIT_IGNORED = ("eval/out", "bench/out")  # output folders inside the repository that .gitignore keeps out of git


def resolve(path: Path) -> Path:
    """Return ``path`` unchanged if absolute, else relative to the repo root."""
    return path if path.is_absolute() else ROOT / path


def title_key(title: str) -> str:
    """Case- and whitespace-insensitive form of a title, for finding duplicates."""
    return " ".join(title.split()).casefold()


def read_page(path: Path) -> tuple[str, str] | None:
    """Title and body (text after the heading line) of a page, or None without a ``# `` heading."""
    text = path.read_text(encoding="utf-8")
    first, _, body = text.partition("\n")
    if not first.startswith("# "):
        return None
    title = " ".join(first[2:].split())
    if not title:
        return None
    return title, body.strip()


def eligible_pages(src: Path, min_words: int) -> tuple[list[tuple[Path, str, str]], dict[str, int]]:
    """Pages that may be picked, and counts of the pages left out and why."""
    pages: list[tuple[Path, str, str]] = []
    skipped = Counter({"no heading": 0, "short body": 0, "duplicate title": 0})
    for path in sorted(src.glob("*.md")):
        page = read_page(path)
        if page is None:
            skipped["no heading"] += 1
        elif len(page[1].split()) < min_words:
            skipped["short body"] += 1
        else:
            pages.append((path, *page))
    counts = Counter(title_key(title) for _, title, _ in pages)
    unique = [p for p in pages if counts[title_key(p[1])] == 1]
    skipped["duplicate title"] = len(pages) - len(unique)
    return unique, dict(skipped)


def split_of(query_id: str) -> str:
    """``dev`` or ``test``, from the parity of the last hex digit of the id's sha1."""
    return "dev" if int(hashlib.sha1(query_id.encode("utf-8")).hexdigest()[-1], 16) % 2 == 0 else "test"


def path_problem(src: Path, out: Path) -> str | None:
    """Why the pages cannot be read from src or written to out (inside the repository only where git-ignored)."""
    if not src.is_dir():
        return f"{src} is not a folder"
    out_and_parents = (out.resolve(), *out.resolve().parents)
    if ROOT.resolve() in out_and_parents and not any((ROOT / d).resolve() in out_and_parents for d in GIT_IGNORED):
        return (f"{out} is inside the repository but not under {' or '.join(GIT_IGNORED)} (git-ignored); "
                "the pages must not be copied into the repository")
    return None


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--src", type=Path, default=DEFAULT_SRC, help="folder of regeringen-sv Markdown pages")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="BEIR output folder (replaced if it exists)")
    parser.add_argument("--docs", type=int, default=1000, help="number of pages to pick")
    parser.add_argument("--seed", type=int, default=0, help="random seed for picking pages")
    parser.add_argument("--min-words", type=int, default=120, help="minimum words in a page's body")
    args = parser.parse_args(argv)

    src = resolve(args.src)
    out = resolve(args.out)
    problem = path_problem(src, out)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    if out.exists() and any(out.iterdir()) and not (out / "corpus.jsonl").exists():
        print(f"error: {out} exists and is not an earlier output of this script", file=sys.stderr)
        return 2

    pages, skipped = eligible_pages(src, args.min_words)
    if args.docs < 1 or args.docs > len(pages):
        print(f"error: --docs must be between 1 and {len(pages)} (eligible pages)", file=sys.stderr)
        return 2
    picked = sorted(random.Random(args.seed).sample(pages, args.docs), key=lambda p: p[0].name)

    corpus: list[dict] = []
    queries: list[dict] = []
    ids: list[tuple[str, str, str]] = []
    qrels: dict[str, list[tuple[str, str, int]]] = {"dev": [], "test": []}
    for n, (path, title, body) in enumerate(picked, start=1):
        did, qid = f"r{n:05d}", f"q{n:05d}"
        corpus.append({"_id": did, "title": "", "text": body})
        queries.append({"_id": qid, "text": title})
        ids.append((did, qid, path.name))
        qrels[split_of(qid)].append((qid, did, 1))

    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    write_jsonl(out / "corpus.jsonl", corpus)
    write_jsonl(out / "queries.jsonl", queries)
    write_qrels(out / "qrels" / "dev.tsv", qrels["dev"])
    write_qrels(out / "qrels" / "test.tsv", qrels["test"])
    write_qrels(out / "qrels" / "all.tsv", sorted(qrels["dev"] + qrels["test"]))
    with (out / "ids.tsv").open("w", encoding="utf-8", newline="\n") as fh:
        fh.write("corpus-id\tquery-id\tfile\n")
        for row in ids:
            fh.write("\t".join(row) + "\n")

    in_text = sum(title_key(q["text"]) in title_key(d["text"]) for q, d in zip(queries, corpus))
    words = sorted(len(d["text"].split()) for d in corpus)
    print(f"source:            {src}")
    print(f"eligible pages:    {len(pages)} (left out: {', '.join(f'{k} {v}' for k, v in skipped.items())})")
    print(
        f"documents:         {len(corpus)} (seed {args.seed}; words per document: median {words[len(words) // 2]}, "
        f"min {words[0]}, max {words[-1]})"
    )
    print(f"queries:           {len(queries)} (title found verbatim in its own text: {in_text})")
    print(f"dev:               {len(qrels['dev'])} queries (qrels/dev.tsv)")
    print(f"test:              {len(qrels['test'])} queries (qrels/test.tsv)")
    print(f"out:               {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
