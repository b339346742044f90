"""Time reading PDFs: pypdf alone (as before issue 24) against pypdf + pdfplumber tables/titles (+ OCR of scans).

    python eval/pdfs/make_pdfs.py && python bench/pdf_loading.py [FOLDER] [--repeat N]

Prints milliseconds per page for each PDF (median of N reads) and the total.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import assistant.loading as loading  # noqa: E402


def _time(path: Path, repeat: int) -> float:
    data = path.read_bytes()
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        loading.load_document(path, data)
        runs.append(time.perf_counter() - t0)
    return statistics.median(runs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("folder", nargs="?", default=str(ROOT / "eval/out/pdfs/corpus"))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    import pypdf

    files = sorted(Path(args.folder).glob("*.pdf"))
    layout = loading._layout
    total = {"pypdf": 0.0, "tables": 0.0}
    pages_all = 0
    print(f"{'file':<45} {'pages':>5} {'pypdf ms/p':>11} {'+tables ms/p':>13}")
    for f in files:
        pages = len(pypdf.PdfReader(str(f)).pages)
        loading._layout = lambda data, pages: []  # pypdf text only (a scan is still OCR'd)
        try:
            plain = _time(f, args.repeat)
        finally:
            loading._layout = layout
        full = _time(f, args.repeat)
        total["pypdf"] += plain
        total["tables"] += full
        pages_all += pages
        print(f"{f.name:<45} {pages:>5} {1000 * plain / pages:>11.1f} {1000 * full / pages:>13.1f}")
    print(f"{'all':<45} {pages_all:>5} {1000 * total['pypdf'] / pages_all:>11.1f} {1000 * total['tables'] / pages_all:>13.1f}")


if __name__ == "__main__":
    main()
