"""A team index of about a million chunks on a Chroma server: a reader's catch-up, search and memory.

Ingesting a million chunks through `assistant ingest` takes hours here even with a synthetic embedder
(`bench/team_server.py` took 27 minutes for 109k), so the first million are **loaded in the server's
layout directly** (one commit record, as one very large ingest would write): the documents and chunk
offsets of the 109k-chunk benchmark index (`bench/out/work/index-100000`, real regeringen-sv pages and
variations of them), copied with new ids until about --rows chunks, each chunk carrying a row of
`bench/million.py`'s vectors (real e5 passage vectors mixed in pairs with a little noise). Then, as a
team would:

1. a reader with its own cache folder catches up in full (child process: time, peak RSS);
2. a writer whose cache is a copy of the reader's adds real files through the real `ingest` (synthetic
   embedder: a deterministic unit vector per text) — about --add chunks;
3. the reader catches up (incremental: time, chunks fetched, peak RSS), then in the same process times
   vector search of 100 real e5 question vectors (k=50): its mirror (exact) and the server's HNSW over
   HTTP, with the server's recall@10 against exact search;
   and warm `ask` / `search` over the same files (what local mode does at this size).

    .venv/bin/python bench/million.py --rows 1000000        # the vectors (cached under bench/out/million)
    .venv/bin/python bench/team_million.py --rows 1000000 --add 1000

The server's database stays in bench/out/million/server-<rows> (a second run reuses it: --fresh rebuilds).
Prints JSON, with the load average before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from team_server import _load, _port, _rss_mib, chroma_server  # noqa: E402

WORK = ROOT / "bench" / "out" / "million"
SOURCE = ROOT / "bench" / "out" / "work" / "index-100000"
COLLECTION = "million"


def bulk_load(url: str, rows: int, vectors_path: Path) -> dict:
    """Write about `rows` chunks, their documents and one commit into the server's team layout."""
    import numpy as np

    from assistant.stores.manifest import date_key
    from assistant.stores.server import HEAD, TeamServer, log_id, version_id
    from assistant.stores.vectors import VectorStore

    vectors = np.load(vectors_path, mmap_mode="r")
    server = TeamServer(url, COLLECTION)
    chunks = VectorStore(Path("."), server.url, server.chunks_collection)
    chunks.bind_model("multilingual-e5-small")
    src = sqlite3.connect(SOURCE / "manifest.sqlite")
    docs = src.execute(
        "SELECT d.doc_id, path, source, content_hash, title, type, language, date, publisher, text, page_starts,"
        " size, mtime, ingested_at, f.text_hash, f.minhash FROM documents d LEFT JOIN fingerprints f USING (doc_id)"
        " ORDER BY d.doc_id").fetchall()
    of_doc: dict[str, list] = {}
    for r in src.execute("SELECT doc_id, id, seq, page, page_end, start, end FROM chunks ORDER BY doc_id, seq"):
        of_doc.setdefault(r[0], []).append(list(r[1:]))
    done = chunks.collection.count()  # a load that stopped part-way goes on from there (upserts are idempotent)
    t0 = time.perf_counter()
    row, copy, added = 0, 0, []
    batch_ids: list[str] = []
    batch_md: list[dict] = []
    vbatch: tuple[list, list, list] = ([], [], [])
    size = 0
    while row < rows:
        for d in docs:
            if row >= rows:
                break
            doc_id = d[0] if copy == 0 else f"{d[0]}~{copy}"
            cs = [[c[0] if copy == 0 else f"{c[0]}~{copy}", *c[1:]] for c in of_doc.get(d[0], [])]
            if not cs:
                continue
            date = d[7]
            for c in cs:
                batch_ids.append(c[0])
                batch_md.append({"doc_id": doc_id, "lang": d[6], "type": d[5] or "", "date": date_key(date),
                                 "source": d[2] if copy == 0 else f"{d[2]}~{copy}"})
            path = d[1] if copy == 0 else f"{d[1]}~{copy}"
            source = d[2] if copy == 0 else f"{d[2]}~{copy}"
            payload = json.dumps({
                "doc_id": doc_id, "path": path, "source": source, "content_hash": d[3], "title": d[4], "type": d[5],
                "language": d[6], "date": date, "publisher": d[8], "text": d[9],
                "page_starts": json.loads(d[10]) if d[10] else None, "size": d[11], "mtime": d[12],
                "ingested_at": d[13], "text_hash": d[14] or "", "minhash": (d[15] or b"").hex(), "chunks": cs,
                "ocr": False,
            }, ensure_ascii=False)
            vid = version_id(doc_id, d[3], d[13])
            added.append(vid)
            vbatch[0].append(vid)
            vbatch[1].append({"doc_id": doc_id, "source": source, "n_chunks": len(cs)})
            vbatch[2].append(payload)
            size += len(payload)
            if len(vbatch[0]) >= 500 or size >= 4_000_000:
                _put_versions(server, vbatch, done)
                vbatch, size = ([], [], []), 0
            if len(batch_ids) >= 4000:
                if row + len(batch_ids) > done:
                    chunks.upsert(batch_ids, _rows(vectors, row, len(batch_ids)), batch_md)
                row += len(batch_ids)
                batch_ids, batch_md = [], []
                if row % 100_000 < 4000:
                    print(f"  {row} chunks, {time.perf_counter() - t0:.0f} s", file=sys.stderr, flush=True)
        copy += 1
    if batch_ids:
        chunks.upsert(batch_ids, _rows(vectors, row, len(batch_ids)), batch_md)
        row += len(batch_ids)
    if vbatch[0]:
        _put_versions(server, vbatch, done)
    at = "2026-12-07T00:00:00+00:00"
    record = {"generation": 1, "added": added, "removed": [], "aliases_put": [], "aliases_removed": [],
              "near_put": [], "near_removed": [], "model": "multilingual-e5-small", "dim": 384, "at": at}
    server._put(server.log, [log_id(1)], [{"generation": 1, "kind": "commit"}], [json.dumps(record)])  # noqa: SLF001
    server._put(server.log, [HEAD], [{"generation": 1, "model": "multilingual-e5-small", "dim": 384,  # noqa: SLF001
                                      "at": at, "index_id": "million-bench"}])
    return {"chunks": row, "documents": len(added), "copies": copy, "seconds": round(time.perf_counter() - t0, 1)}


def _rows(vectors, start: int, count: int):
    """`count` vector rows from `start`, wrapping around at the end of the file."""
    import numpy as np

    return np.asarray(vectors[np.arange(start, start + count) % len(vectors)])


def _put_versions(server, batch: tuple[list, list, list], done: int) -> None:
    """Write a batch of doc versions, unless a load that stopped part-way already wrote all of them."""
    if done:
        with server.docs._guard():  # noqa: SLF001
            have = server.docs.collection.get(ids=batch[0], include=[])["ids"]
        if len(have) == len(batch[0]):
            return
    server._put(server.docs, *batch)  # noqa: SLF001


def reader(url: str, queries: bool) -> dict:
    """One command's catch-up (timed); with queries, vector search and warm ask/search over the same files."""
    import numpy as np

    from assistant.config import Settings
    from assistant.stores import open_index
    from bench import warm_on

    settings = Settings(chroma_url=url, chroma_collection=COLLECTION)
    t0 = time.perf_counter()
    index = open_index(settings)
    out: dict = {"open_and_catch_up_s": round(time.perf_counter() - t0, 2), "sync": index.team.last_sync,
                 "chunks": index.manifest.counts()[1], "peak_rss_after_catch_up_mib": _peak_mib()}
    if queries:
        from assistant.retrieval import HUB_WEIGHT

        qv = np.load(WORK / "queries.npy")[1::2]  # bench/million.py's test half
        mirror = index.dense_mirror()
        assert mirror is not None
        col = index.vectors.collection

        def run(fn) -> tuple[list[list[str]], dict]:
            fn(qv[0])
            tops, times = [], []
            for v in qv:
                t = time.perf_counter()
                tops.append(fn(v))
                times.append((time.perf_counter() - t) * 1000)
            return tops, {"p50_ms": round(float(np.percentile(times, 50)), 1),
                          "p95_ms": round(float(np.percentile(times, 95)), 1)}

        _, out["search_mirror_exact"] = run(lambda v: [c for c, _ in mirror.query(v, 50, None, HUB_WEIGHT)])
        # the server ranks by cosine alone: compare it with exact cosine ranking (no hubness)
        exact_cos, _ = run(lambda v: [c for c, _ in mirror.query(v, 50)])
        got, out["search_server_hnsw"] = run(
            lambda v: col.query(query_embeddings=[v], n_results=50, include=["distances"])["ids"][0])
        out["search_server_hnsw"]["recall_at_10"] = _recall(got, exact_cos)
        out["warm"] = warm_on(index, "multilingual-e5-small", 50)  # bench.py's questions, as chat asks them
    index.close()
    out["peak_rss_mib"] = _peak_mib()
    return out


def _recall(got: list[list[str]], exact: list[list[str]]) -> float:
    return round(sum(len(set(g[:10]) & set(e[:10])) for g, e in zip(got, exact)) / (10 * len(exact)), 4)


def _peak_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run_reader(url: str, cache: Path, queries: bool) -> dict:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache)}
    args = [sys.executable, __file__, "--reader", url] + (["--queries"] if queries else [])
    r = subprocess.run(args, env=env, capture_output=True, text=True, cwd=ROOT)
    if r.returncode:
        sys.exit(r.stderr[-3000:])
    return json.loads(r.stdout)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--add", type=int, default=1_000, help="chunks the writer adds afterwards")
    ap.add_argument("--fresh", action="store_true", help="rebuild the server's database")
    ap.add_argument("--reader", help=argparse.SUPPRESS)
    ap.add_argument("--queries", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.reader:
        print(json.dumps(reader(args.reader, args.queries)))
        return
    from assistant.config import Settings
    from assistant.ingestion import ingest
    from bench import chunk_counts, source_docs, use_synthetic_embedder, variation

    vectors_path = WORK / f"vectors-{args.rows}.npy"
    if not vectors_path.exists():
        sys.exit(f"{vectors_path}: missing; run bench/million.py --rows {args.rows} first")
    db = WORK / f"server-{args.rows}"
    caches = WORK / f"caches-{args.rows}"
    if args.fresh:
        shutil.rmtree(db, ignore_errors=True)
        shutil.rmtree(caches, ignore_errors=True)
    result: dict = {"load_before": _load()}
    port_file = WORK / f"server-{args.rows}.port"  # the same port each run: a cache folder is keyed by it
    port = int(port_file.read_text()) if port_file.exists() and not args.fresh else _port()
    port_file.write_text(str(port))
    with chroma_server(db, port, WORK / f"server-{args.rows}.log") as (server, url):
        from assistant.stores.server import TeamServer

        if TeamServer(url, COLLECTION).head() is None:
            result["bulk_load"] = bulk_load(url, args.rows, vectors_path)
            result["server_rss_after_load_mib"] = _rss_mib(server.pid)
        reader_cache, writer_cache = caches / "reader", caches / "writer"
        result["reader_first"] = run_reader(url, reader_cache, False)
        if writer_cache.exists():
            shutil.rmtree(writer_cache)
        shutil.copytree(reader_cache, writer_cache)  # a colleague who had caught up too
        extra = WORK / f"extra-{args.add}"  # new texts each run (a variation seeded by the generation)
        shutil.rmtree(extra, ignore_errors=True)
        extra.mkdir()
        generation = int((TeamServer(url, COLLECTION).head() or {}).get("generation") or 0)
        files, added = source_docs(), 0
        for f, n in zip(reversed(files), reversed(chunk_counts(files))):
            if added >= args.add:
                break
            if n:
                text = variation(f.read_text(encoding="utf-8"), 991 + generation)
                (extra / f"added__{f.name}").write_text(text, encoding="utf-8")
                added += n
        use_synthetic_embedder()
        os.environ["XDG_CACHE_HOME"] = str(writer_cache)
        t = time.perf_counter()
        rep = ingest([extra], Settings(chroma_url=url, chroma_collection=COLLECTION))
        result["writer_add"] = {"documents": rep.added, "chunks": rep.chunks, "seconds": round(time.perf_counter() - t, 1)}
        result["reader_after_add"] = run_reader(url, reader_cache, True)
        result["server_rss_mib"] = _rss_mib(server.pid)
        result["server_disk_mib"] = round(sum(p.stat().st_size for p in db.rglob("*") if p.is_file()) / 2**20, 1)
        result["reader_cache_disk_mib"] = round(
            sum(p.stat().st_size for p in reader_cache.rglob("*") if p.is_file()) / 2**20, 1)
    result["load_after"] = _load()
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
