"""A team shares one index through a Chroma server alone (issue 22): real `chroma run` on loopback.

Every client has its own cache folder (its own XDG_CACHE_HOME) and no files are shared: the server is
the store of record. Each test uses its own collection name on the module's server.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from conftest import ASSISTANT, ROOT, run_cli
from test_server import running_chroma

pytestmark = pytest.mark.slow

NEW_DOC = "da-2026-03-01-vejledning-tilskud-ensomme"
NEW_TEXT = (
    "Vejledning om tilskud til foreninger\n\n"
    "Kommunen giver fra 2026 tilskud til foreninger, der arbejder med ensomme ældre. "
    "Tilskuddet udgør 50.000 kroner om året pr. forening og søges hos Socialforvaltningen inden 1. marts.\n\n"
    "Foreningen skal have mindst ti frivillige og et åbent tilbud mindst en gang om ugen.\n"
)
REMOVED = "da-2010-10-08-pressemeddelelse-civilsamfundsstrategi.txt"
NEW_Q = "Hvor meget udgør tilskuddet til foreninger for ensomme ældre?"
SEED_Q = "Hvor meget udbetalte kommunerne i 2009 i § 18-støtte?"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    with running_chroma(tmp_path_factory.mktemp("team-chroma")) as url:
        yield url


def client(tmp_path: Path, name: str, collection: str, url: str, **extra: str) -> dict:
    """The environment of one team member: its own cache folder, the team's server and collection, no --index."""
    return {"XDG_CACHE_HOME": str(tmp_path / f"cache-{name}"), "ASSISTANT_CHROMA_URL": url,
            "ASSISTANT_CHROMA_COLLECTION": collection, "ASSISTANT_INDEX": "", "ASSISTANT_CONFIG": str(tmp_path / "none.toml"),
            **extra}


@pytest.fixture
def team(tmp_path, server, request):
    """(A, B, corpus): two clients on one fresh collection, and a writable copy of the seed corpus."""
    import shutil

    from conftest import CORPUS

    (tmp_path / "none.toml").write_text("", encoding="utf-8")
    collection = f"t{abs(hash(request.node.name)) % 10**8}"
    corpus = tmp_path / "corpus"
    shutil.copytree(CORPUS, corpus)
    return client(tmp_path, "a", collection, server), client(tmp_path, "b", collection, server), corpus


def status(env: dict) -> dict:
    r = run_cli("index", "status", "--json", env=env)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def cache_state(env: dict) -> dict:
    """What a client's cache holds (after its catch-up), read from its manifest."""
    return cache_state_at(Path(status(env)["cache"]))


def cache_state_at(cache: Path) -> dict:
    """What a cache folder's manifest holds: documents, chunks, fingerprints, duplicates, near-duplicates."""
    db = sqlite3.connect(cache / "manifest.sqlite")
    try:
        return {
            "docs": sorted(db.execute("SELECT doc_id, content_hash, title, language, type, date, text, page_starts, n_chunks FROM documents")),
            "chunks": sorted(db.execute("SELECT id, doc_id, seq, page, page_end, start, end, text, terms FROM chunks")),
            "fingerprints": sorted(db.execute("SELECT doc_id, text_hash, minhash FROM fingerprints")),
            "aliases": sorted(db.execute("SELECT path, doc_id FROM aliases")),
            "near": sorted(db.execute("SELECT a, b, similarity FROM near_duplicates")),
        }
    finally:
        db.close()


def ingest(env: dict, corpus: Path, **extra: str):
    return run_cli("ingest", str(corpus), "--json", env={**env, **extra})


def ask(env: dict, q: str) -> dict:
    r = run_cli("ask", q, "--json", env=env)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def server_counts(url: str, collection: str) -> dict[str, int]:
    import chromadb

    c = chromadb.HttpClient(host="127.0.0.1", port=int(url.rsplit(":", 1)[1]))
    return {x.name.rsplit("-", 1)[1]: x.count() for x in c.list_collections() if x.name.startswith(collection + "-")}


def change_corpus(corpus: Path) -> None:
    """A adds a document and a duplicate copy of another, and removes one."""
    (corpus / f"{NEW_DOC}.txt").write_text(NEW_TEXT, encoding="utf-8")
    original = next(corpus.glob("sv-1997-09-12-*"))
    (corpus / f"kopi-af-cirkulaeret{original.suffix}").write_bytes(original.read_bytes())
    (corpus / REMOVED).unlink()


def test_two_clients_share_an_index_through_the_server_alone(team, server):
    a, b, corpus = team
    r = run_cli("ask", SEED_Q, env=b)  # nothing ingested yet: one line, exit 4
    assert r.returncode == 4 and len(r.stderr.strip().splitlines()) == 1 and "is empty" in r.stderr

    r = ingest(a, corpus)
    assert r.returncode == 0, r.stderr
    seed_chunks = json.loads(r.stdout)["total_chunks"]
    answer = ask(b, SEED_Q)
    assert not answer["refused"] and answer["citations"] and "144,7" in answer["answer"]
    sb = status(b)
    assert sb["server_generation"] == sb["cache_generation"] == 1 and sb["chunks"] == seed_chunks
    assert sb["last_sync"]["full"] and sb["last_sync"]["chunks_fetched"] == seed_chunks
    assert sb["cache"] != status(a)["cache"] and not sb["cache"].startswith(str(ROOT))

    change_corpus(corpus)
    r = ingest(a, corpus)
    assert r.returncode == 0, r.stderr
    rep = json.loads(r.stdout)
    assert rep["added"] == 2 and rep["removed"] == 1 and rep["duplicates"]
    new_chunks = [c for c in cache_state(a)["chunks"] if c[1] == NEW_DOC]
    answer = ask(b, NEW_Q)  # B's next ask sees the new document ...
    assert not answer["refused"] and answer["citations"][0]["doc_id"] == NEW_DOC and "50.000" in answer["answer"]
    sb = status(b)
    assert sb["server_generation"] == sb["cache_generation"] == 2
    last = sb["last_sync"]
    # ... without a full rebuild: one document version and only its chunks' vectors came over
    assert not last["full"] and (last["from"], last["to"]) == (1, 2)
    assert last["documents_fetched"] == 1 and last["chunks_fetched"] == len(new_chunks)
    hits = json.loads(run_cli("search", "civilsamfundsstrategi", "--json", env=b).stdout)["results"]
    assert not any(h["doc_id"].startswith(REMOVED[:-4]) for h in hits)  # ... and the removal
    assert cache_state(b) == cache_state(a)  # the whole cache, duplicates and near-duplicates included

    # Two more commits while B is away, one document edited twice: B catches up over both at once.
    for extra in ("Tilskuddet udbetales i april.\n", "Ansøgningsskemaet findes på kommunens hjemmeside.\n"):
        with open(corpus / f"{NEW_DOC}.txt", "a", encoding="utf-8") as fh:
            fh.write(extra)
        assert ingest(a, corpus).returncode == 0
    sb = status(b)
    assert sb["cache_generation"] == 4 and sb["last_sync"]["documents_fetched"] == 1 and not sb["last_sync"]["full"]
    assert cache_state(b) == cache_state(a)
    counts = server_counts(server, a["ASSISTANT_CHROMA_COLLECTION"])
    assert counts["docs"] == sb["documents"] and counts["chunks"] == sb["chunks"]  # old versions were deleted

    # A reader whose cache is current asks the server for its generation and nothing else: no chromadb import.
    code = (
        "import sys; from assistant.config import load_settings; from assistant.api import open_answerer;"
        "cm=open_answerer(load_settings()); a=cm.__enter__(); a.ask('Hvad er § 18?');"
        "print(sorted(m for m in ('chromadb', 'bm25s', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT,
                         env={**os.environ, **b})
    assert out.stdout.strip() == "[]", out.stderr


@pytest.mark.parametrize("point", ["after-vectors", "server-after-docs", "server-after-log", "server-after-head",
                                   "after-commit", "after-refresh"])
def test_sigkill_of_the_writer_leaves_readers_before_or_after(team, server, tmp_path, point):
    a, b, corpus = team
    # the reference: a third client runs the same two ingests uninterrupted, into its own collection
    clean = client(tmp_path, "clean", a["ASSISTANT_CHROMA_COLLECTION"] + "-clean", server)
    assert ingest(a, corpus).returncode == 0
    assert ingest(clean, corpus).returncode == 0
    before = cache_state(b)
    assert before["docs"]
    change_corpus(corpus)
    r = ingest(a, corpus, ASSISTANT_FAULT=point)
    assert r.returncode == -signal.SIGKILL, r.stderr
    mid = cache_state(b)
    sb = status(b)
    assert sb["server_generation"] == sb["cache_generation"]
    expect_after = point in ("server-after-head", "after-commit", "after-refresh")
    assert sb["server_generation"] == (2 if expect_after else 1)
    if not expect_after:
        assert mid == before
    else:
        assert {d[0] for d in mid["docs"]} == {d[0] for d in before["docs"]} - {REMOVED[:-4]} | {NEW_DOC}
    answer = ask(b, SEED_Q)
    assert not answer["refused"] and "144,7" in answer["answer"]

    r = ingest(a, corpus)  # the next ingest completes ...
    assert r.returncode == 0, r.stderr
    # ... and equals the uninterrupted runs
    assert ingest(clean, corpus).returncode == 0
    state_b, state_clean = cache_state(b), cache_state(clean)
    for key in ("docs", "chunks", "fingerprints", "aliases", "near"):
        assert state_b[key] == state_clean[key], key
    counts = server_counts(server, a["ASSISTANT_CHROMA_COLLECTION"])
    assert counts["docs"] == len(state_b["docs"]) and counts["chunks"] == len(state_b["chunks"])  # no leftovers
    assert counts["log"] == status(b)["server_generation"] + 2  # commit records, head, lease: none above head


def test_one_writer_at_a_time_and_a_frozen_writer_loses_its_lease(team):
    a, b, corpus = team
    lease = {"ASSISTANT_LEASE_SECONDS": "6"}
    proc = subprocess.Popen([*ASSISTANT, "ingest", str(corpus)], cwd=ROOT, env={**os.environ, **a, **lease,
                            "ASSISTANT_FAULT": "stop:after-lease"}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 120
        while _state(proc.pid) != "T":  # A holds the lease and hangs (as a machine that froze)
            assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.2)
        t0 = time.monotonic()
        r = ingest(b, corpus, **lease)
        assert r.returncode == 5, r.stderr
        line = r.stderr.strip()
        assert len(line.splitlines()) == 1 and f"pid {proc.pid}" in line and "lease expires at" in line
        time.sleep(max(0.0, 7 - (time.monotonic() - t0)))
        r = ingest(b, corpus, **lease)  # the lease expired without A: B takes it
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["added"] == 5
        os.kill(proc.pid, signal.SIGCONT)  # A wakes up: it notices it lost the lease and stops
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 5 and "lease" in err and "taken" in err and len(err.strip().splitlines()) == 1
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    sb = status(b)
    assert sb["server_generation"] == 1 and sb["documents"] == 5
    assert not ask(a, SEED_Q)["refused"]  # A's cache follows the server like any reader's


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "?"


class ChromaProxy:
    """A loopback TCP proxy to the Chroma server that records each HTTP request line it forwards.

    While `cut` is set it drops the connection that asks for vectors (the server is gone, as far as the
    client can tell); `not_chroma` makes it answer every request as a plain web server would (404, HTML); `close()` stops it
    listening (the server is gone: connection refused).
    """

    REQUEST = re.compile(rb"(?:^|\r\n)((?:GET|POST|PUT|DELETE|PATCH|HEAD) \S+) HTTP/1\.[01]\r\n")

    def __init__(self, upstream: str) -> None:
        self.up = ("127.0.0.1", int(upstream.rsplit(":", 1)[1]))
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.requests: list[str] = []
        self.not_chroma = False
        self.cut = False
        self.cuts = 0
        self.lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self.sock.close()

    def _accept(self) -> None:
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            if self.not_chroma:
                threading.Thread(target=self._not_found, args=(c,), daemon=True).start()
                continue
            u = socket.create_connection(self.up)
            threading.Thread(target=self._pump, args=(c, u, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(u, c, False), daemon=True).start()

    def _not_found(self, c: socket.socket) -> None:
        body = b"<html><body><h1>404 Not Found</h1></body></html>"
        try:
            c.recv(65536)
            c.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: %d\r\n"
                      b"Connection: close\r\n\r\n%s" % (len(body), body))
        except OSError:
            pass
        c.close()

    def _pump(self, src: socket.socket, dst: socket.socket, from_client: bool) -> None:
        buf = b""
        tail = b""
        try:
            while data := src.recv(65536):
                if from_client:
                    if self.cut and b'"embeddings"' in tail + data:
                        self.cuts += 1
                        raise OSError("cut")
                    tail = data[-32:]
                    buf += data
                    end = 0
                    for m in self.REQUEST.finditer(buf):
                        with self.lock:
                            self.requests.append(m.group(1).decode())
                        end = m.end()
                    buf = buf[end:][-256:]
                dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def count(self, *args: str, env: dict) -> tuple[subprocess.CompletedProcess, list[str]]:
        """Run one command through the proxy: its result and the HTTP requests it made."""
        with self.lock:
            self.requests.clear()
        r = run_cli(*args, env=env)
        with self.lock:
            return r, list(self.requests)


def test_server_lost_mid_catch_up_leaves_the_cache_as_it_was(team, server):
    a, b, corpus = team
    proxy = ChromaProxy(server)
    b = {**b, "ASSISTANT_CHROMA_URL": proxy.url}
    assert ingest(a, corpus).returncode == 0
    assert not ask(b, SEED_Q)["refused"]
    before = cache_state(b)
    cache = Path(status(b)["cache"])
    files_before = sorted(p.relative_to(cache) for p in cache.rglob("*") if p.is_file())
    change_corpus(corpus)
    assert ingest(a, corpus).returncode == 0
    proxy.cut = True
    r = run_cli("ask", NEW_Q, env=b)
    assert proxy.cuts >= 1
    assert r.returncode == 1, r.stderr
    assert len(r.stderr.strip().splitlines()) == 1 and "cannot reach the Chroma server" in r.stderr
    assert "Traceback" not in r.stderr
    proxy.cut = False
    db = sqlite3.connect(cache / "manifest.sqlite")
    assert db.execute("SELECT value FROM meta WHERE key='server_generation'").fetchone()[0] == "1"
    db.close()
    assert sorted(p.relative_to(cache) for p in cache.rglob("*") if p.is_file()) == files_before  # no temp files
    assert cache_state_at(cache) == before  # nothing half-written
    answer = ask(b, NEW_Q)  # the server is back: the next command catches up and answers
    assert answer["citations"][0]["doc_id"] == NEW_DOC
    assert cache_state(b) == cache_state(a)


def test_old_layout_with_index_folder_still_works_and_cache_is_not_used(tmp_path, server):
    """--index with --chroma-url keeps today's layout (manifest local, vectors on the server): no cache folder."""
    from conftest import CORPUS

    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "ASSISTANT_CHROMA_URL": server}
    r = run_cli("ingest", str(CORPUS), "--index", str(tmp_path / "index"), "--json", env=env)
    assert r.returncode == 0, r.stderr
    assert not (tmp_path / "cache" / "policy-assistant").exists() and (tmp_path / "index" / "manifest.sqlite").exists()
    s = json.loads(run_cli("index", "status", "--index", str(tmp_path / "index"), "--json", env=env).stdout)
    assert s["vectors"] == "server" and "server_generation" not in s


def test_bad_collection_name_is_one_line(tmp_path, server):
    r = run_cli("--chroma-collection", "x", "index", "status", env={"ASSISTANT_CHROMA_URL": server})
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "collection name" in r.stderr


def test_an_open_chat_sees_what_another_client_committed_since_its_last_question(team):
    """A chat session is long: before each question it catches up with the server (one request when nothing moved)."""
    a, b, corpus = team
    ingest(a, corpus)
    env = {**os.environ, **b}
    chat = subprocess.Popen([*ASSISTANT, "chat", "--json"], cwd=ROOT, env=env, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        chat.stdin.write(NEW_Q + "\n")
        chat.stdin.flush()
        first = json.loads(chat.stdout.readline())
        assert first["refused"] or all(NEW_DOC not in c["doc_id"] for c in first["citations"])
        (corpus / f"{NEW_DOC}.txt").write_text(NEW_TEXT, encoding="utf-8")
        ingest(a, corpus)  # another client commits a new document while the chat is open
        chat.stdin.write("/reset\n" + NEW_Q + "\n")
        chat.stdin.flush()
        line = json.loads(chat.stdout.readline())
        while "command" in line:  # the /reset reply
            line = json.loads(chat.stdout.readline())
        assert not line["refused"] and "50.000 kroner" in line["answer"], line
        assert any(c["doc_id"] == NEW_DOC for c in line["citations"])
    finally:
        chat.stdin.close()
        chat.wait(timeout=120)


def test_a_current_cache_costs_one_request_and_commits_are_still_seen(team, server, tmp_path):
    """A reader whose cache is current asks the server one small thing: the head, by the log collection's id."""
    a, b, corpus = team
    proxy = ChromaProxy(server)
    b = {**b, "ASSISTANT_CHROMA_URL": proxy.url}
    assert ingest(a, corpus).returncode == 0
    assert not ask(b, SEED_Q)["refused"]  # the first command: the whole catch-up
    for command in (("ask", SEED_Q, "--json"), ("index", "status", "--json"), ("search", "§ 18", "--json")):
        r, requests = proxy.count(*command, env=b)
        assert r.returncode == 0, r.stderr
        assert len(requests) == 1 and requests[0].startswith("POST ") and requests[0].endswith("/get"), (command, requests)

    (corpus / f"{NEW_DOC}.txt").write_text(NEW_TEXT, encoding="utf-8")
    assert ingest(a, corpus).returncode == 0  # another client commits ...
    r, requests = proxy.count("ask", NEW_Q, "--json", env=b)
    assert r.returncode == 0, r.stderr
    answer = json.loads(r.stdout)  # ... and the reader's next command catches up before it answers
    assert not answer["refused"] and answer["citations"][0]["doc_id"] == NEW_DOC and len(requests) > 1
    assert status(b)["cache_generation"] == 2
    r, requests = proxy.count("ask", NEW_Q, "--json", env=b)
    assert r.returncode == 0 and len(requests) == 1, requests

    # The team index is deleted and made again (its collections get new ids): the reader notices, rebuilds its cache.
    import chromadb

    c = chromadb.HttpClient(host="127.0.0.1", port=int(server.rsplit(":", 1)[1]))
    for kind in ("chunks", "docs", "log"):
        c.delete_collection(f"{a['ASSISTANT_CHROMA_COLLECTION']}-{kind}")
    fresh = tmp_path / "fresh"
    fresh.mkdir()
    (fresh / f"{NEW_DOC}.txt").write_text(NEW_TEXT, encoding="utf-8")
    a2 = client(tmp_path, "a2", a["ASSISTANT_CHROMA_COLLECTION"], server)
    assert ingest(a2, fresh).returncode == 0
    r, requests = proxy.count("index", "status", "--json", env=b)
    assert r.returncode == 0, r.stderr
    sb = json.loads(r.stdout)
    assert sb["documents"] == 1 and sb["server_generation"] == sb["cache_generation"] == 1 and sb["this_sync"]["full"]
    assert any(q.startswith("GET ") and q.endswith("-log") for q in requests)  # the log collection's name, resolved again
    assert cache_state(b) == cache_state(a2)
    r, requests = proxy.count("ask", NEW_Q, "--json", env=b)
    assert r.returncode == 0 and len(requests) == 1, requests

    # Something else answers on that port: one line, exit 1; nothing there: one line, exit 1.
    proxy.not_chroma = True
    r, _ = proxy.count("ask", NEW_Q, env=b)
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1 and "not a Chroma server" in r.stderr, r.stderr
    proxy.close()
    r, _ = proxy.count("ask", NEW_Q, env=b)
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert f"cannot reach the Chroma server at {proxy.url}" in r.stderr and "Traceback" not in r.stderr
