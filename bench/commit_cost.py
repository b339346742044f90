"""What one ingest commit costs on a big index: time from the end of reading to the end of the run, by step.

Copies the index (never changes the one given), ingests a few new documents into the copy and prints when
each step of the ingest began (check, load, model, commit, refresh = keyword index and dense mirror,
cleanup). A long ingest commits its finished documents every COMMIT_DOCUMENTS documents or COMMIT_SECONDS
seconds; this is the price of each such batch commit.

    .venv/bin/python bench/commit_cost.py --index bench/out/work/index-100000 --docs 3
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DOCS = ROOT.parent / "shared" / "datasets" / "regeringen-sv" / "docs"


def main() -> None:
    """Time the steps of one small ingest into a copy of a big index; print them as JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, required=True, help="the index to copy (not changed)")
    ap.add_argument("--docs", type=int, default=3, help="how many new documents to ingest")
    args = ap.parse_args()

    from assistant.config import Settings
    from assistant.ingestion import ingest
    from assistant.stores import Index

    with tempfile.TemporaryDirectory(prefix="commit-cost-") as tmp:
        index = Path(tmp) / "index"
        shutil.copytree(args.index, index)
        folder = Path(tmp) / "new"
        folder.mkdir()
        for i, src in enumerate(sorted(DOCS.glob("*.md"))[-args.docs:]):
            text = src.read_text(encoding="utf-8")
            (folder / f"new-{i}.md").write_text(f"{text}\n\nTillägg {i}: en ny rad som gör texten ny.\n", encoding="utf-8")
        idx = Index(index)
        chunks = idx.manifest.counts()[1]
        idx.close()
        t0 = time.perf_counter()
        steps: dict[str, float] = {}

        def progress(phase: str, done: int, total: int) -> None:
            steps.setdefault(phase, round(time.perf_counter() - t0, 2))

        report = ingest([folder], Settings(index_dir=index), progress=progress)
        total = round(time.perf_counter() - t0, 2)
    commit_to_end = round(total - steps.get("commit", total), 2)
    print(json.dumps({"index_chunks": chunks, "documents": report.added, "chunks_added": report.chunks,
                      "step_started_at_s": steps, "total_s": total, "commit_to_end_s": commit_to_end}, indent=2))


if __name__ == "__main__":
    main()
