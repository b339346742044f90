"""A team index on a Chroma server: a reader's catch-up, and vector search through the server vs the local mirror.

Starts its own `chroma run` on loopback in a temporary folder, ingests real regeringen-sv pages (and
variations of them) through it as the writer with a synthetic embedder (a deterministic unit vector per
text: the store's size and shape are real, the vectors are not), then in child processes (each its own
XDG_CACHE_HOME, as a colleague's machine would be):

- a reader's first catch-up (full: every document version and chunk vector) and its peak RSS;
- the writer adds about --add chunks; the reader's incremental catch-up (time, chunks fetched, RSS);
- vector search of --queries random unit vectors, k=50: the cache's dense mirror (exact, numpy) vs the
  server's HNSW (`collection.query` over HTTP), p50/p95 in ms.

Prints JSON, including the machine's load average before and after (the machine is shared).

    .venv/bin/python bench/team_server.py --chunks 10000 --add 1000
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))
CHROMA = Path(sys.executable).parent / "chroma"


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def chroma_server(path: Path, port: int | None = None, log: Path | None = None):
    """A `chroma run` on loopback storing in `path`, ready to answer: yields (process, url); stopped on exit."""
    port = port or _port()
    url = f"http://127.0.0.1:{port}"
    out = open(log, "ab") if log else subprocess.DEVNULL
    server = subprocess.Popen([str(CHROMA), "run", "--path", str(path), "--port", str(port)], stdout=out,
                              stderr=subprocess.STDOUT, start_new_session=True,
                              env={**os.environ, "ANONYMIZED_TELEMETRY": "False"})
    try:
        for _ in range(600):
            try:
                urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1).read()
                break
            except OSError:
                time.sleep(0.2)
        yield server, url
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        if log:
            out.close()


def _load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def _rss_mib(pid: int) -> float:
    """Resident memory of a process and its children, MiB."""
    total = 0
    pids = [pid]
    try:
        pids += [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return round(total / 1024, 1)


def reader(url: str, queries: int) -> dict:
    """One command's catch-up (timed), then vector search through the mirror and through the server."""
    import numpy as np

    from assistant.config import Settings
    from assistant.stores import open_index

    settings = Settings(chroma_url=url, chroma_collection=os.environ["BENCH_COLLECTION"])
    t0 = time.perf_counter()
    index = open_index(settings)
    wall = time.perf_counter() - t0
    out = {"open_and_catch_up_s": round(wall, 3), "sync": index.team.last_sync, "chunks": index.manifest.counts()[1]}
    if queries:
        rng = np.random.default_rng(7)
        vs = rng.standard_normal((queries, 384)).astype(np.float32)
        vs /= np.linalg.norm(vs, axis=1, keepdims=True)
        mirror = index.dense_mirror()
        assert mirror is not None
        col = index.vectors.collection
        for name, fn in (("mirror", lambda v: mirror.query(v, 50)),
                         ("server", lambda v: col.query(query_embeddings=[v], n_results=50, include=["distances"]))):
            fn(vs[0])  # warm-up
            times = []
            for v in vs:
                t = time.perf_counter()
                fn(v)
                times.append((time.perf_counter() - t) * 1000)
            out[f"search_{name}_ms"] = {"p50": round(float(np.percentile(times, 50)), 2),
                                        "p95": round(float(np.percentile(times, 95)), 2)}
    index.close()
    out["peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return out


def run_reader(url: str, cache: Path, collection: str, queries: int) -> dict:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), "BENCH_COLLECTION": collection}
    r = subprocess.run([sys.executable, __file__, "--reader", url, "--queries", str(queries)], env=env,
                       capture_output=True, text=True, cwd=ROOT)
    if r.returncode:
        sys.exit(r.stderr)
    return json.loads(r.stdout)


def main() -> None:
    """Build a team index through a fresh server and print the catch-up and search figures."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--chunks", type=int, default=10_000, help="chunks of the first ingest")
    ap.add_argument("--add", type=int, default=1_000, help="chunks the writer adds afterwards")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--reader", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.reader:
        print(json.dumps(reader(args.reader, args.queries)))
        return

    from assistant.config import Settings
    from assistant.ingestion import ingest
    from bench import build_corpus, chunk_counts, source_docs, use_synthetic_embedder, variation

    use_synthetic_embedder()
    result: dict = {"load_before": _load()}
    with tempfile.TemporaryDirectory(prefix="team-bench-") as tmp:
        tmp_p = Path(tmp)
        with chroma_server(tmp_p / "db", log=tmp_p / "server.log") as (server, url):
            files = source_docs()
            counts = chunk_counts(files)
            base, extra = tmp_p / "base", tmp_p / "extra"
            result["chunks_planned"] = build_corpus(base, args.chunks, files, counts)
            extra.mkdir()
            added = 0
            for f, n in zip(reversed(files), reversed(counts)):
                if added >= args.add:
                    break
                if n:
                    (extra / f"added__{f.name}").write_text(variation(f.read_text(encoding="utf-8"), 997), encoding="utf-8")
                    added += n
            os.environ["XDG_CACHE_HOME"] = str(tmp_p / "writer-cache")
            settings = Settings(chroma_url=url, chroma_collection="bench")
            t = time.perf_counter()
            rep = ingest([base], settings)
            result["writer_ingest"] = {"documents": rep.total_documents, "chunks": rep.total_chunks,
                                       "seconds": round(time.perf_counter() - t, 1), "commits": rep.commits}
            result["reader_first"] = run_reader(url, tmp_p / "reader-cache", "bench", 0)
            t = time.perf_counter()
            rep = ingest([base, extra], settings)
            result["writer_add"] = {"documents": rep.added, "chunks": rep.chunks, "seconds": round(time.perf_counter() - t, 1)}
            result["reader_after_add"] = run_reader(url, tmp_p / "reader-cache", "bench", args.queries)
            result["server_rss_mib"] = _rss_mib(server.pid)
            result["server_disk_mib"] = round(sum(p.stat().st_size for p in (tmp_p / "db").rglob("*") if p.is_file()) / 2**20, 1)
    result["load_after"] = _load()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
