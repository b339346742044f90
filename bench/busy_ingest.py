"""Ingest's embedding speed on a quiet machine and beside a CPU hog, for onnxruntime's thread settings.

The embedder is what an ingest spends its time on. With another process keeping both cores busy, its
speed can collapse: onnxruntime's intra-op threads spin-wait for each other, and a spinning thread that
the scheduler parks holds the others up. This measures passages/s for 1 and 2 intra-op threads with
spinning on and off, quiet and with a hog (one busy-looping process per core), on real regeringen-sv passages.

    .venv/bin/python bench/busy_ingest.py --passages 96 --hog-passages 48
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DOCS = ROOT.parent / "shared" / "datasets" / "regeringen-sv" / "docs"


def _busy(stop) -> None:  # pragma: no cover - a child process
    x = 0
    while not stop.is_set():
        for _ in range(100_000):
            x += 1


def passages(n: int) -> list[str]:
    """The first n chunks of the regeringen-sv pages, as ingest embeds them (title and text)."""
    from assistant.chunking import chunk_text
    from assistant.ingestion import embed_text

    out: list[str] = []
    for path in sorted(DOCS.glob("*.md")):
        text = path.read_text(encoding="utf-8")
        for c in chunk_text(text, None):
            out.append(embed_text(path.stem, c.text))
            if len(out) == n:
                return out
    return out


def rate(embedder, texts: list[str]) -> float:
    """Passages per second for one embed call over all texts (as ingest batches them)."""
    t = time.perf_counter()
    for i in range(0, len(texts), 32):
        embedder.embed_passages(texts[i : i + 32])
    return len(texts) / (time.perf_counter() - t)


def main() -> None:
    """Print passages/s per setting, quiet and beside a CPU hog, as JSON."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--passages", type=int, default=96, help="passages embedded per quiet run")
    ap.add_argument("--hog-passages", type=int, default=48, help="passages embedded per run beside the hog")
    args = ap.parse_args()

    from assistant.e5_onnx import OnnxE5Embedder

    texts = passages(max(args.passages, args.hog_passages))
    rows = []
    for threads in (1, 2):
        for spinning in (True, False):
            emb = OnnxE5Embedder(threads=threads, spinning=spinning)
            emb.embed_passages(texts[:8])  # warm-up
            quiet = rate(emb, texts[: args.passages])
            stop = mp.Event()
            hogs = [mp.Process(target=_busy, args=(stop,), daemon=True) for _ in range(os.cpu_count() or 2)]
            for h in hogs:
                h.start()
            time.sleep(1.0)
            try:
                busy = rate(emb, texts[: args.hog_passages])
            finally:
                stop.set()
                for h in hogs:
                    h.join(10)
            rows.append({"threads": threads, "spinning": spinning, "quiet_per_s": round(quiet, 2),
                         "hog_per_s": round(busy, 2), "kept": round(busy / quiet, 3)})
            print(json.dumps(rows[-1]), flush=True)
    print(json.dumps({"load_before": os.getloadavg(), "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
