"""Speed benchmarks of the policy assistant at 1k, 10k and 100k chunks (see docs/benchmarks.md, ## Speed).

    .venv/bin/python bench/bench.py            # 1k, 10k, 100k chunks (about 15 minutes on 2 cores)
    .venv/bin/python bench/bench.py --quick    # 1k chunks, smaller samples (a few minutes)

Corpus: the real Swedish government pages in ../shared/datasets/regeringen-sv/docs (3,549 pages, about
10k chunks); beyond that, variations of them (paragraphs rotated, numbers shifted, a variant line) so every
chunk is new text. Embedding speed is always measured with the real model on real passages. Every store
is built by the real `ingest` with a synthetic embedder (a deterministic unit vector per text, so no day
of embedding at 100k); its peak RSS is the ingest's. Queries always use the real model for the question.

Prints one JSON object (also bench/out/results.json), a table, and writes bench/out/latency.png.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("BENCH_DATA", ROOT.parent / "shared" / "datasets" / "regeringen-sv" / "docs"))
OUT = ROOT / "bench" / "out"

QUESTIONS = [
    "Hur ska de lokala projekten finansieras?",
    "Vilket stöd får kommunerna för äldreomsorgen?",
    "Vad säger regeringen om barns rättigheter?",
    "Hur mycket pengar satsas på civilsamhället?",
    "Vilka myndigheter får uppdrag om våld i nära relationer?",
    "När ska utredningen redovisa sitt uppdrag?",
    "Hvor meget udbetalte kommunerne i 2009 i § 18-støtte?",
    "Vad innebär lagrådsremissen om socialtjänsten?",
    "Hur ska funktionshinderspolitiken följas upp?",
    "Vilka åtgärder föreslås mot hemlöshet?",
    "Vad är regeringens strategi för jämställdhet?",
    "Hur fördelas statsbidraget till kommunerna?",
    "Vilka krav ställs på skolans elevhälsa?",
    "Vad gäller för ensamkommande barn?",
    "Hur stärks den psykiatriska vården?",
    "Vilka organisationer får bidrag för folkhälsa?",
    "Vad föreslår utredningen om LSS?",
    "Hur ska integrationen i kommunerna förbättras?",
    "Vilket ansvar har regionerna för vården?",
    "Vad kostar reformen för staten?",
]


# --- helpers -------------------------------------------------------------------------------------


def dir_size(path: Path) -> int:
    """Bytes on disk under a folder."""
    total = 0
    for p in path.rglob("*"):
        try:
            if p.is_file():
                total += p.stat().st_blocks * 512
        except OSError:
            pass
    return total


def machine() -> dict:
    """What this ran on."""
    cpu = ""
    try:
        cpu = next(ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name"))
    except (OSError, StopIteration):
        pass
    mem = 0
    try:
        mem = int(next(ln.split()[1] for ln in open("/proc/meminfo") if ln.startswith("MemTotal"))) // 1024
    except (OSError, StopIteration):
        pass
    import platform

    return {"cpu": cpu, "cores": os.cpu_count(), "memory_mib": mem, "python": platform.python_version(),
            "platform": platform.platform()}


class SyntheticEmbedder:
    """A stand-in for the model when building big stores: a deterministic unit vector per text."""

    name = "multilingual-e5-small"
    dim = 384

    def __init__(self) -> None:
        import numpy as np

        self.np = np

    def _vec(self, text: str):
        np = self.np
        seed = int.from_bytes(hashlib.blake2b(text.encode("utf-8"), digest_size=8).digest(), "little")
        v = np.random.default_rng(seed).standard_normal(self.dim).astype(np.float32)
        return v / np.linalg.norm(v)

    def embed_passages(self, texts):
        np = self.np
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.stack([self._vec(t) for t in texts])

    def embed_query(self, text: str):
        return self._vec("query: " + text)


def use_synthetic_embedder() -> None:
    """Make the ingest pipeline embed with SyntheticEmbedder (this process only)."""
    import assistant.embedding as emb
    import assistant.ingestion as ing

    synth = SyntheticEmbedder()
    emb.get_embedder = lambda spec, runtime="auto", **_: synth  # type: ignore[assignment]
    ing.get_embedder = lambda spec, runtime="auto", **_: synth  # type: ignore[assignment]


# --- corpus --------------------------------------------------------------------------------------


def source_docs() -> list[Path]:
    """The real Swedish pages, in a stable order."""
    if not DATA.is_dir():
        sys.exit(f"bench: {DATA}: the regeringen-sv dataset is missing (set BENCH_DATA)")
    return sorted(DATA.glob("*.md"))


def chunk_counts(files: list[Path]) -> list[int]:
    """Chunks per file, as ingest would cut them."""
    from assistant.chunking import chunk_text
    from assistant.loading import load_document

    out = []
    for f in files:
        try:
            out.append(len(chunk_text(load_document(f).text)))
        except Exception:
            out.append(0)
    return out


def variation(text: str, v: int) -> str:
    """A different text with the same vocabulary: paragraphs rotated, numbers shifted, a variant line."""
    paras = [p for p in re.split(r"\n\s*\n", text) if p.strip()]
    if len(paras) > 2:
        r = v % (len(paras) - 1) + 1
        paras = paras[:1] + paras[1:][r:] + paras[1:][:r]
    shifted = re.sub(r"\d+", lambda m: str(int(m.group()) + v) if len(m.group()) < 9 else m.group(), "\n\n".join(paras))
    return f"{shifted}\n\nVariant {v} av dokumentet, sammanställd för prestandatest nummer {v * 7919 % 100003}.\n"


def build_corpus(folder: Path, target_chunks: int, files: list[Path], counts: list[int]) -> int:
    """Write about `target_chunks` chunks' worth of documents into a folder; return the expected chunk count."""
    folder.mkdir(parents=True, exist_ok=True)
    total = 0
    v = 0
    while total < target_chunks:
        for f, n in zip(files, counts):
            if total >= target_chunks:
                break
            if n == 0:
                continue
            name = f.name if v == 0 else f"v{v}__{f.name}"
            text = f.read_text(encoding="utf-8")
            (folder / name).write_text(text if v == 0 else variation(text, v), encoding="utf-8")
            total += n
        v += 1
    return total


# --- measurements --------------------------------------------------------------------------------


def embed_speed_and_ingest_ratio(work: Path, n_chunks: int, files: list[Path], counts: list[int]) -> dict:
    """Real model: raw embedder passages/s and ingest chunks/s on the same passages, and their ratio."""
    from assistant.config import Settings
    from assistant.embedding import get_embedder
    from assistant.ingestion import EMBED_BATCH, embed_text, ingest
    from assistant.stores import Index

    corpus = work / "ratio-corpus"
    build_corpus(corpus, n_chunks, files, counts)
    emb = get_embedder("multilingual-e5-small")
    emb.embed_passages(["uppvärmning av modellen"])
    index_dir = work / "ratio-index"
    # Ingest (the real pipeline, real model), then the raw embedder on exactly the passages it embedded.
    t = time.perf_counter()
    report = ingest([corpus], Settings(index_dir=index_dir))
    ingest_s = time.perf_counter() - t
    idx = Index(index_dir)
    rows = idx.manifest.db.execute(
        "SELECT d.title, c.text FROM chunks c JOIN documents d ON d.doc_id = c.doc_id ORDER BY d.source, c.seq"
    ).fetchall()
    idx.close()
    passages = [embed_text(title, text) for title, text in rows]
    raw = []
    for _ in range(2 if n_chunks <= 200 else 1):
        t = time.perf_counter()
        for b in range(0, len(passages), EMBED_BATCH):
            emb.embed_passages(passages[b : b + EMBED_BATCH])
        raw.append(time.perf_counter() - t)
    raw_s = min(raw)
    ingest_rate = report.chunks / ingest_s
    raw_rate = len(passages) / raw_s
    return {
        "runtime": emb.runtime, "documents": report.added, "chunks": report.chunks, "embedded": report.embedded,
        "ingest_seconds": round(ingest_s, 2), "ingest_chunks_per_s": round(ingest_rate, 2),
        "raw_embed_seconds": round(raw_s, 2), "raw_passages_per_s": round(raw_rate, 2),
        "ratio": round(ingest_rate / raw_rate, 3),
    }


def build_by_ingest(corpus: Path, index_dir: Path) -> dict:
    """Ingest a folder with the synthetic embedder (in a child process: its peak RSS is measured)."""
    out = run_worker("ingest", str(corpus), str(index_dir))
    return out


def run_worker(*args: str) -> dict:
    """Run this script as a worker; return its JSON (with its peak RSS)."""
    r = subprocess.run([sys.executable, __file__, "--worker", *args], capture_output=True, text=True, cwd=ROOT)
    if r.returncode != 0:
        raise RuntimeError(f"worker {args[0]} failed: {r.stderr[-3000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def cold(command: str, index_dir: Path, runs: int) -> dict:
    """Wall time of `assistant <command>` in a new process (as a user runs it): median of `runs`."""
    times = []
    for i in range(runs + 1):
        q = QUESTIONS[i % len(QUESTIONS)]
        t = time.perf_counter()
        r = subprocess.run([str(ROOT / ".venv" / "bin" / "assistant"), command, q, "--index", str(index_dir), "--json"],
                           capture_output=True, text=True, cwd=ROOT)
        dt = time.perf_counter() - t
        if r.returncode != 0:
            raise RuntimeError(f"assistant {command} failed: {r.stderr[-2000:]}")
        if i:  # the first run warms the page cache
            times.append(dt)
    return {"median_s": round(statistics.median(times), 3), "runs": [round(x, 3) for x in times]}


def index_breakdown(index_dir: Path) -> dict:
    """Bytes on disk: total and per part."""
    parts = {p.name: dir_size(p) if p.is_dir() else p.stat().st_blocks * 512 for p in index_dir.iterdir()}
    return {"total_mib": round(sum(parts.values()) / 2**20, 1),
            "parts_mib": {k: round(v / 2**20, 1) for k, v in sorted(parts.items()) if v}}


def touch_one(corpus: Path, index_dir: Path) -> dict:
    """Append a sentence to one document and re-ingest the folder (synthetic embedder, child process)."""
    files = sorted(corpus.glob("*.md"))
    victim = files[len(files) // 2]
    with open(victim, "a", encoding="utf-8") as fh:
        fh.write("\n\nTillägg: regeringen har beslutat att följa upp uppdraget under nästa år.\n")
    return run_worker("ingest", str(corpus), str(index_dir))


# --- workers (child processes) -------------------------------------------------------------------


def worker(args: list[str]) -> dict:
    kind = args[0]
    if kind == "ingest":
        use_synthetic_embedder()
        from assistant.config import Settings
        from assistant.ingestion import ingest

        t = time.perf_counter()
        rep = ingest([Path(args[1])], Settings(index_dir=Path(args[2])))
        out = {"seconds": round(time.perf_counter() - t, 3), "added": rep.added, "updated": rep.updated,
               "chunks": rep.chunks, "embedded": rep.embedded, "total_chunks": rep.total_chunks,
               "failed": len(rep.failed)}
    elif kind == "warm":
        out = warm(Path(args[1]), int(args[2]))
    else:
        raise SystemExit(f"unknown worker {kind}")
    out["peak_rss_mib"] = peak_rss_mib()
    return out


def peak_rss_mib() -> float:
    """This process's peak resident memory (VmHWM: unlike ru_maxrss it does not carry the parent's over exec)."""
    try:
        kb = next(int(ln.split()[1]) for ln in open("/proc/self/status") if ln.startswith("VmHWM"))
    except (OSError, StopIteration):
        kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return round(kb / 1024, 1)


def warm(index_dir: Path, rounds: int) -> dict:
    """Query latency in one process (as in chat): search and ask, after one warm-up query."""
    from assistant.config import Settings
    from assistant.stores import Index

    settings = Settings(index_dir=index_dir)
    index = Index(settings.index_dir)
    try:
        return warm_on(index, settings.embed_model, rounds)
    finally:
        index.close()


def warm_on(index, model: str, rounds: int) -> dict:
    """Search and ask latency over an open index (a local folder or a team reader's cache)."""
    from assistant.answering import Answerer
    from assistant.retrieval import Retriever

    retriever = Retriever(index, model)
    answerer = Answerer(retriever)
    retriever.search(QUESTIONS[0], k=10)
    answerer.ask(QUESTIONS[1])
    qs = (QUESTIONS * (rounds // len(QUESTIONS) + 1))[:rounds]
    search_t, ask_t, embed_t = [], [], []
    for q in qs:
        t = time.perf_counter()
        retriever.embedder.embed_query(q + " ")
        embed_t.append(time.perf_counter() - t)
        t = time.perf_counter()
        retriever.search(q, k=10)
        search_t.append(time.perf_counter() - t)
        retriever._qmemo = None  # ask embeds its question, as in chat (search just memoised this one)
        t = time.perf_counter()
        answerer.ask(q)
        ask_t.append(time.perf_counter() - t)
    used_mirror = index.dense_mirror() is not None
    from assistant.evaluation import percentile

    ms = lambda xs, p: round(percentile(xs, p) * 1000, 1)  # noqa: E731
    return {"queries": len(qs), "mirror": used_mirror,
            "search_p50_ms": ms(search_t, 50), "search_p95_ms": ms(search_t, 95),
            "ask_p50_ms": ms(ask_t, 50), "ask_p95_ms": ms(ask_t, 95),
            "query_embedding_p50_ms": ms(embed_t, 50)}


# --- report --------------------------------------------------------------------------------------


def plot(results: dict, path: Path) -> None:
    """Latency against index size (log x)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sizes = results["sizes"]
    xs = [s["chunks"] for s in sizes]
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for key, label in (("search_p50_ms", "search p50 (warm)"), ("search_p95_ms", "search p95 (warm)"),
                       ("ask_p50_ms", "ask p50 (warm)"), ("ask_p95_ms", "ask p95 (warm)")):
        ax.plot(xs, [s["warm"][key] for s in sizes], marker="o", label=label)
    ax.plot(xs, [s["cold_ask"]["median_s"] * 1000 for s in sizes], marker="s", linestyle="--", label="ask, cold process (median)")
    ax.plot(xs, [s["cold_search"]["median_s"] * 1000 for s in sizes], marker="s", linestyle="--", label="search, cold process (median)")
    ax.axhline(50, color="grey", linewidth=0.8, linestyle=":")
    ax.axhline(500, color="grey", linewidth=0.8, linestyle=":")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("index size (chunks)")
    ax.set_ylabel("latency (ms)")
    ax.set_title("Policy assistant: query latency against index size (2 cores)")
    ax.legend(fontsize=7)
    ax.grid(True, which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def table(results: dict) -> str:
    """The results as a Markdown table."""
    rows = ["| chunks | docs | cold ask | cold search | search p50/p95 | ask p50/p95 | peak RSS (query / build) | disk |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|"]
    for s in results["sizes"]:
        w = s["warm"]
        rows.append(
            f"| {s['chunks']:,} | {s['documents']:,} | {s['cold_ask']['median_s']:.2f} s | {s['cold_search']['median_s']:.2f} s | "
            f"{w['search_p50_ms']:.0f} / {w['search_p95_ms']:.0f} ms | {w['ask_p50_ms']:.0f} / {w['ask_p95_ms']:.0f} ms | "
            f"{w['peak_rss_mib']:.0f} / {s['build'].get('peak_rss_mib', 0):.0f} MiB | {s['disk']['total_mib']:.0f} MiB |"
        )
    r = results["ingest"]
    rows.append("")
    rows.append(f"ingest {r['ingest_chunks_per_s']} chunks/s vs raw embedder {r['raw_passages_per_s']} passages/s "
                f"on the same {r['chunks']} passages: ratio {r['ratio']:.1%}")
    for s in results["sizes"]:
        if "touch" in s:
            t = s["touch"]
            rows.append(f"touch one document at {s['chunks']:,} chunks: {t['seconds']} s, {t['embedded']} chunk(s) re-embedded "
                        f"(synthetic embedder; real embedding adds ≈ {t['embedded'] / r['raw_passages_per_s']:.1f} s)")
    return "\n".join(rows)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="1k chunks and small samples (a few minutes)")
    ap.add_argument("--sizes", default=None, help="comma-separated chunk counts (default 1000,10000,100000)")
    ap.add_argument("--ingest-chunks", type=int, default=None, help="passages for the ingest/embedder ratio")
    ap.add_argument("--out", type=Path, default=OUT)
    ap.add_argument("--keep", action="store_true", help="keep the built indexes in OUT/work")
    ap.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.worker:
        print(json.dumps(worker(a.worker)))
        return
    sizes = [int(x) for x in a.sizes.split(",")] if a.sizes else ([1000] if a.quick else [1000, 10000, 100000])
    n_ratio = a.ingest_chunks or (100 if a.quick else 400)
    cold_runs = 5
    rounds = 20 if a.quick else 40
    a.out.mkdir(parents=True, exist_ok=True)
    work = a.out / "work"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    t0 = time.perf_counter()
    files = source_docs()
    counts = chunk_counts(files)
    results: dict = {"machine": machine(), "quick": a.quick, "dataset": str(DATA),
                     "dataset_documents": len(files), "dataset_chunks": sum(counts)}
    print(f"bench: {len(files)} pages, {sum(counts)} chunks in the dataset", file=sys.stderr)
    print(f"bench: ingest vs raw embedder on ~{n_ratio} real passages (real model)", file=sys.stderr)
    results["ingest"] = embed_speed_and_ingest_ratio(work, n_ratio, files, counts)
    results["sizes"] = []
    for size in sizes:
        print(f"bench: store of {size:,} chunks", file=sys.stderr)
        index_dir = work / f"index-{size}"
        entry: dict = {"target": size}
        corpus = work / f"corpus-{size}"
        build_corpus(corpus, size, files, counts)
        entry["build"] = {"method": "ingest (synthetic embedder)", **build_by_ingest(corpus, index_dir)}
        from assistant.stores import Index

        idx = Index(index_dir)
        entry["documents"], entry["chunks"] = idx.manifest.counts()
        idx.close()
        entry["disk"] = index_breakdown(index_dir)
        entry["cold_ask"] = cold("ask", index_dir, cold_runs)
        entry["cold_search"] = cold("search", index_dir, cold_runs)
        entry["warm"] = run_worker("warm", str(index_dir), str(rounds))
        entry["touch"] = touch_one(corpus, index_dir)
        results["sizes"].append(entry)
        print(json.dumps(entry), file=sys.stderr)
        if not a.keep:
            shutil.rmtree(index_dir, ignore_errors=True)
    results["seconds"] = round(time.perf_counter() - t0, 1)
    (a.out / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False))
    plot(results, a.out / "latency.png")
    print(json.dumps(results, ensure_ascii=False))
    print(table(results))
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
