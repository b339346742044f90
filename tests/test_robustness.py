"""An index you can trust: incremental re-index, duplicates, bad input, big files, odd questions."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ASSISTANT, CHANGED, CORPUS, REMOVED, ROOT, index_state, run_cli, write_pdf

CONTRACT = {"added": int, "updated": int, "removed": int, "unchanged": int, "failed": list, "chunks": int, "seconds": float}


def ingest_json(path: Path, index: Path, *extra: str, env: dict | None = None):
    """Run `assistant ingest PATH --index INDEX --json`; the process and its parsed JSON."""
    r = run_cli("ingest", str(path), "--index", str(index), "--json", *extra, env=env)
    assert "Traceback" not in r.stderr, r.stderr
    assert r.stdout.strip(), r.stderr
    out = json.loads(r.stdout)
    for key, typ in CONTRACT.items():
        assert isinstance(out[key], typ), (key, out)
    for f in out["failed"]:
        assert set(f) == {"source", "reason"} and "\n" not in f["reason"], f
    return r, out


def search_ids(query: str, index: Path, mode: str = "hybrid") -> list[str]:
    r = run_cli("search", query, "--index", str(index), "--mode", mode, "-k", "10", "--json")
    assert r.returncode == 0, r.stderr
    return [h["doc_id"] for h in json.loads(r.stdout)["results"]]


# --- 1. incremental ingest and the index commands ---------------------------------------------


def test_incremental_update_remove_full_and_index_commands(tmp_path, corpus_copy):
    index = tmp_path / "idx"
    r, first = ingest_json(corpus_copy, index)
    assert r.returncode == 0 and first["added"] == 5 and first["embedded"] == first["chunks"] > 0
    before = index_state(index)
    assert "da-2010-11-30-pressemeddelelse-kommuner-styrker-samarbejdet" in search_ids("Silkeborg Frivilligcentret sundhedshus", index)

    changed = corpus_copy / CHANGED
    changed.write_text(
        changed.read_text(encoding="utf-8") + "\n\nTilføjelse 2012: Kommunen stiller gratis mødelokaler til rådighed for frivillige foreninger.\n",
        encoding="utf-8",
    )
    (corpus_copy / REMOVED).unlink()
    r, second = ingest_json(corpus_copy, index)
    assert r.returncode == 0
    assert (second["added"], second["updated"], second["removed"], second["unchanged"], second["failed"]) == (0, 1, 1, 3, [])
    # Only the chunks whose text changed were embedded again.
    assert 0 < second["embedded"] < second["chunks"]
    after = index_state(index)
    doc = "da-2010-frederiksberg-frivillighedspolitik"
    old_ids = {c for c, v in before["chunks"].items() if v[0] == doc}
    new_ids = {c for c, v in after["chunks"].items() if v[0] == doc}
    assert len(old_ids & new_ids) >= len(old_ids) - 2 and new_ids - old_ids
    # The removed file left with all its chunks, vectors and keyword entries.
    gone = "da-2010-11-30-pressemeddelelse-kommuner-styrker-samarbejdet"
    assert gone not in after["docs"] and all(v[0] != gone for v in after["chunks"].values())
    assert after["orphans"] == 0  # Chroma holds exactly the manifest's chunks
    for mode in ("hybrid", "keyword", "dense"):
        assert gone not in search_ids("Silkeborg Frivilligcentret sundhedshus", index, mode)
    assert search_ids("gratis mødelokaler", index, "keyword")[0] == doc
    status = json.loads(run_cli("index", "status", "--index", str(index), "--json").stdout)
    assert (status["documents"], status["chunks"]) == (4, len(after["chunks"]))

    # Nothing changed: nothing embedded, nothing committed.
    _, third = ingest_json(corpus_copy, index)
    assert (third["unchanged"], third["embedded"], third["chunks"]) == (4, 0, 0)

    # --full: everything read, chunked and embedded again, same result.
    r, full = ingest_json(corpus_copy, index, "--full")
    assert r.returncode == 0 and full["updated"] == 4 and full["embedded"] == full["chunks"] == len(after["chunks"])
    rebuilt = index_state(index)
    assert rebuilt["chunks"] == after["chunks"] and rebuilt["orphans"] == 0

    # index list / remove / rebuild
    listing = json.loads(run_cli("index", "list", "--index", str(index), "--json").stdout)["documents"]
    assert len(listing) == 4 and all({"language", "type", "date", "chunks"} <= set(d) for d in listing)
    assert {d["language"] for d in listing} == {"da", "sv"}
    r = run_cli("index", "remove", str(corpus_copy / CHANGED), "--index", str(index), "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["removed"] == 1
    state = index_state(index)
    assert doc not in state["docs"] and state["orphans"] == 0
    assert search_ids("gratis mødelokaler", index, "keyword") == []
    r = run_cli("index", "remove", str(corpus_copy / "no-such-file.txt"), "--index", str(index))
    assert r.returncode == 1
    one = corpus_copy / "da-2008-12-16-paragraf-18-redegoerelse-2007.txt"
    r = run_cli("index", "rebuild", str(one), "--index", str(index), "--json")
    assert r.returncode == 0, r.stderr
    state = index_state(index)
    assert list(state["docs"]) == ["da-2008-12-16-paragraf-18-redegoerelse-2007"] and state["orphans"] == 0


def test_removal_killed_after_its_commit_leaves_no_vectors_behind(tmp_path, corpus_copy):
    """A run that only removes a file writes no vectors; killed between its commit and the sweep, the next
    run must still delete the removed document's vectors."""
    index = tmp_path / "idx"
    ingest_json(corpus_copy, index)
    (corpus_copy / CHANGED).unlink()
    env = {"ASSISTANT_FAULT": "after-commit"}
    r = run_cli("ingest", str(corpus_copy), "--index", str(index), "--json", env=env)
    assert r.returncode != 0  # killed by the fault hook
    assert index_state(index)["orphans"] > 0  # the removed document's vectors are still in Chroma
    _, again = ingest_json(corpus_copy, index)
    assert again["embedded"] == 0
    state = index_state(index)
    assert "da-2010-frederiksberg-frivillighedspolitik" not in state["docs"] and state["orphans"] == 0


# --- 2. duplicates and near-duplicates ---------------------------------------------------------


def _excerpt(name: str, chars: int = 1500) -> str:
    text = (CORPUS / name).read_text(encoding="utf-8")
    return text[:chars].rsplit(" ", 1)[0] + ".\n"


def test_same_text_stored_once_and_near_duplicates_flagged(tmp_path):
    from assistant.config import Settings
    from assistant.ingestion import ingest

    folder = tmp_path / "docs"
    folder.mkdir()
    report_text = _excerpt("sv-1997-09-12-cirkular-1997-145-frivilligt-socialt-arbete.txt", 2500)
    (folder / "a-cirkular.txt").write_text(report_text, encoding="utf-8")
    (folder / "b-cirkular-kopia.txt").write_text(report_text, encoding="utf-8")  # same text, other name
    reissue = report_text.replace("1997", "1998", 2) + "\nDenna utgåva ersätter den tidigare.\n"
    (folder / "c-cirkular-ny-utgava.txt").write_text(reissue, encoding="utf-8")
    (folder / "d-other.txt").write_text(_excerpt(REMOVED), encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "idx")

    rep = ingest([folder], settings)
    assert (rep.added, rep.failed) == (4, [])
    assert [d["source"].endswith("b-cirkular-kopia.txt") and d["duplicate_of"].endswith("a-cirkular.txt") for d in rep.duplicates] == [True]
    state = index_state(settings.index_dir)
    assert sorted(state["docs"]) == ["a-cirkular", "c-cirkular-ny-utgava", "d-other"]  # b is not stored twice
    assert rep.embedded == rep.chunks == len(state["chunks"])  # and not embedded twice
    r = run_cli("index", "status", "--index", str(settings.index_dir), "--json")
    status = json.loads(r.stdout)
    assert status["documents"] == 3
    assert [Path(d["source"]).name for d in status["duplicates"]] == ["b-cirkular-kopia.txt"]
    near = status["near_duplicates"]
    assert len(near) == 1 and {Path(near[0]["a"]).name, Path(near[0]["b"]).name} == {"a-cirkular.txt", "c-cirkular-ny-utgava.txt"}
    assert 0.8 <= near[0]["similarity"] < 1.0
    text = run_cli("index", "status", "--index", str(settings.index_dir)).stdout
    assert "near-duplicate" in text and "duplicate" in text

    # Unchanged duplicate stays a duplicate; when the stored copy goes, the duplicate takes its place.
    rep = ingest([folder], settings)
    assert (rep.unchanged, rep.embedded) == (4, 0)
    (folder / "a-cirkular.txt").unlink()
    rep = ingest([folder], settings)
    assert (rep.removed, rep.updated, rep.unchanged) == (1, 1, 2)
    state = index_state(settings.index_dir)
    assert sorted(state["docs"]) == ["b-cirkular-kopia", "c-cirkular-ny-utgava", "d-other"] and state["orphans"] == 0
    assert "b-cirkular-kopia" in search_ids("frivilligt socialt arbete kommunerna", settings.index_dir, "keyword")


# --- 4. bad input ------------------------------------------------------------------------------


GOOD_PDF_TEXT = [f"Side {i}. Kommunen afsatte {i} mio. kr. til frivilligt socialt arbejde og foreningernes lokaler." * 4 for i in range(1, 4)]


def make_bad_folder(folder: Path) -> dict[str, str]:
    """The seed corpus plus one file of each bad kind; returns file name → expected reason fragment."""
    import shutil

    shutil.copytree(CORPUS, folder)
    good = write_pdf(folder / "god-rapport.pdf", GOOD_PDF_TEXT)
    (folder / "korrupt.pdf").write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\nendobj\ngarbage \x00\xff")
    data = good.read_bytes()
    (folder / "afkortet.pdf").write_bytes(data[: len(data) // 2])
    write_pdf(folder / "hemmelig.pdf", ["Fortroligt notat om budgettet."], encrypt="hemmelig")
    write_pdf(folder / "scannet.pdf", drawing="image")
    write_pdf(folder / "tegning.pdf", drawing="vector")
    (folder / "tom.txt").write_bytes(b"")
    (folder / "binaer.txt").write_bytes(bytes(range(256)) * 64)
    (folder / "odelagt.docx").write_bytes(b"PK\x03\x04 this is not really a zip archive")
    (folder / "side.html").write_bytes(
        "<html><body><h1>Nyhed om frivillighed</h1><p>Kommunen støtter foreningerne med 2 mio. kr. i år.</p>".encode()
        + b"<p>Broken bytes here: \xff\xfe\xc3 and more text about volunteers.</p></body></html>"
    )
    (folder / "regneark.xlsx").write_bytes(b"PK\x03\x04 spreadsheet")
    (folder / "loop.txt").symlink_to(folder / "loop.txt")
    (folder / "brudt-link.txt").symlink_to(folder / "findes-ikke.txt")
    os.mkfifo(folder / "roer.txt")  # reading a named pipe would hang the ingest
    return {
        "korrupt.pdf": "corrupt or truncated PDF",
        "afkortet.pdf": "corrupt or truncated PDF",
        "hemmelig.pdf": "encrypted PDF",
        "scannet.pdf": "no text layer",
        "tegning.pdf": "no text layer",
        "tom.txt": "empty file",
        "binaer.txt": "binary data",
        "odelagt.docx": "broken .docx",
        "loop.txt": "symbolic link loop",
        "brudt-link.txt": "broken symbolic link",
        "roer.txt": "not a regular file",
    }


def test_bad_input_fails_one_file_at_a_time_with_exit_code_3(tmp_path):
    folder = tmp_path / "mixed"
    expected = make_bad_folder(folder)
    index = tmp_path / "idx"
    r, out = ingest_json(folder, index)
    assert r.returncode == 3, r.stderr  # "partly failed", documented in the README
    reasons = {Path(f["source"]).name: f["reason"] for f in out["failed"]}
    assert set(reasons) == set(expected), reasons
    for name, fragment in expected.items():
        assert fragment in reasons[name], (name, reasons[name])
    assert [Path(s["source"]).name for s in out["skipped"]] == ["regneark.xlsx"]
    assert "unsupported file type '.xlsx'" in out["skipped"][0]["reason"]
    assert out["added"] == 7  # the 5 seed documents, the good PDF, the HTML page
    state = index_state(index)
    assert {"god-rapport", "side"} <= set(state["docs"])
    from assistant.stores import Index

    idx = Index(index)
    html = idx.manifest.document_text("side")
    idx.close()
    assert "\ufffd" in html and "Kommunen støtter foreningerne" in html and "volunteers" in html
    # The table for people: one line per failure, no traceback, same exit code.
    r = run_cli("ingest", str(folder), "--index", str(index))
    assert r.returncode == 3 and "Traceback" not in r.stderr + r.stdout
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("failed ")]
    assert len(lines) == len(expected)
    assert any("hemmelig.pdf: encrypted PDF" in ln for ln in lines)
    assert any(ln.startswith("skipped") and "regneark.xlsx" in ln for ln in r.stdout.splitlines())
    # A file that fails later keeps its old version; other files are unaffected.
    (folder / "god-rapport.pdf").write_bytes(b"%PDF-1.4 now broken")
    r, out = ingest_json(folder, index)
    assert r.returncode == 3 and "god-rapport.pdf" in {Path(f["source"]).name for f in out["failed"]}
    assert "god-rapport" in index_state(index)["docs"]


def test_file_that_disappears_during_the_run(tmp_path, corpus_copy):
    from assistant.config import Settings
    from assistant.ingestion import ingest

    victim = corpus_copy / "sv-1997-09-12-cirkular-1997-145-frivilligt-socialt-arbete.txt"

    def progress(phase: str, done: int, total: int) -> None:
        if phase == "load" and done == 0 and victim.exists():
            victim.unlink()  # listed and hashed, then gone before it is read

    settings = Settings(index_dir=corpus_copy.parent / "idx")
    rep = ingest([corpus_copy], settings, progress=progress)
    assert [(Path(f["source"]).name, f["reason"]) for f in rep.failed] == [(victim.name, "file disappeared during the run")]
    assert rep.added == 4
    assert len(index_state(settings.index_dir)["docs"]) == 4


def _drop_dac_capabilities() -> None:
    """In a child of root: give up CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH, so file modes apply again."""
    import ctypes

    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (1, 2):  # CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH
        if libc.prctl(24, cap, 0, 0, 0) != 0:  # PR_CAPBSET_DROP: gone from the program exec'd next
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def test_unreadable_file(tmp_path):
    """chmod 000 stops everyone but root; as root, the ingest runs without the capability to override modes."""
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "ok.txt").write_text("Kommunen støtter frivillige sociale foreninger med lokaler og tilskud.", encoding="utf-8")
    secret = folder / "laast.txt"
    secret.write_text("Fortroligt.", encoding="utf-8")
    secret.chmod(0o000)
    preexec = _drop_dac_capabilities if os.geteuid() == 0 else None
    try:
        r = subprocess.run(
            [*ASSISTANT, "ingest", str(folder), "--index", str(tmp_path / "idx"), "--json"], cwd=ROOT,
            capture_output=True, text=True, timeout=600, preexec_fn=preexec,
        )
    except OSError as exc:
        pytest.skip(f"cannot drop root's file capabilities here ({exc})")
    out = json.loads(r.stdout)
    if preexec is not None and out["added"] == 2:
        pytest.skip("root can still read a chmod 000 file here")
    assert r.returncode == 3, r.stderr
    assert out["added"] == 1
    assert [(Path(f["source"]).name, f["reason"]) for f in out["failed"]] == [("laast.txt", "permission denied (unreadable file)")]


# --- big file, bounded memory ------------------------------------------------------------------

BIG_MB = 50
_BIG_SCRIPT = """
import sys, time
from pathlib import Path
from assistant.loading import load_document
from assistant.chunking import chunk_text
t = time.perf_counter()
doc = load_document(Path(sys.argv[1]))
chunks = chunk_text(doc.text, doc.page_starts)
# VmHWM is this program's own peak (ru_maxrss would start from the parent's size at fork: pytest's, which holds
# a chat model after the LLM tests)
peak = next(int(line.split()[1]) for line in open("/proc/self/status") if line.startswith("VmHWM:"))
print(len(doc.text), len(chunks), round(time.perf_counter() - t, 1), peak // 1024)
"""


def _big_file(folder: Path, mb: int = BIG_MB) -> Path:
    block = (CORPUS / "da-2008-12-16-paragraf-18-redegoerelse-2007.txt").read_text(encoding="utf-8").strip() + "\n\n"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "stor-rapport.txt"
    n = mb * 1024 * 1024 // len(block.encode()) + 1
    with path.open("w", encoding="utf-8") as fh:
        for _ in range(n):
            fh.write(block)
    return path


def test_50_mb_text_file_loads_and_chunks_in_bounded_memory(tmp_path):
    path = _big_file(tmp_path / "big")
    r = subprocess.run([sys.executable, "-c", _BIG_SCRIPT, str(path)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    chars, n_chunks, seconds, peak_mb = (float(x) for x in r.stdout.split())
    assert chars > 49_000_000 and n_chunks > 50_000
    assert peak_mb < 1200, f"peak RSS {peak_mb} MB for a {BIG_MB} MB file"
    assert seconds < 240  # 73 s measured on 2 busy cores


# --- questions ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "question, code, message",
    [
        ("", 2, "the question is empty"),
        ("   \n\t ", 2, "the question is empty"),
        ("Hvad " * 2500, 2, "the question is too long"),
        ("?!?! … ,,, ;;; ---", 2, "the question has no words in it"),
        ("这项政策对志愿者有什么规定？", 0, None),
        ("Какую поддержку получают добровольные организации?", 0, None),
    ],
)
def test_odd_questions_get_a_clear_message_or_an_answer(seed_settings, question, code, message):
    for cmd in ("ask", "search"):
        r = run_cli(cmd, question, "--index", str(seed_settings.index_dir), "--json")
        assert r.returncode == code, (cmd, r.stderr)
        assert "Traceback" not in r.stderr
        if message:
            assert message in r.stderr and len(r.stderr.strip().splitlines()) == 1
        else:
            out = json.loads(r.stdout)
            assert ("answer" in out) if cmd == "ask" else ("results" in out)


def test_a_bad_metadata_entry_fails_its_file_with_the_reason_and_keeps_the_indexed_version(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    text = "Kommunen støtter frivillige sociale foreninger med lokaler og tilskud efter servicelovens § 18."
    for name in ("a.txt", "b.txt", "c.txt", "d.txt", "e.txt", "f.txt", "g.txt"):
        (folder / name).write_text(f"{name}\n\n{text}", encoding="utf-8")
    sidecar = folder / "metadata.yaml"
    sidecar.write_text("a.txt: {language: da, date: 2010-11-30, type: press_release}\n", encoding="utf-8")
    index = tmp_path / "idx"
    r, out = ingest_json(folder, index)
    assert r.returncode == 0 and out["added"] == 7, r.stderr
    sidecar.write_text(
        "a.txt: {language: dk, date: 2010-11-30}\n"   # Danish is da
        "b.txt: {date: '2010-13-45'}\n"
        "c.txt: {langauge: da}\n"
        "d.txt: {title: [Frivillighed, Politik]}\n"
        "e.txt: {language: sv, date: 2011-03, type: ''}\n"  # valid (an empty value is no value): it changes
        "f.txt: Frivillighedspolitik\n"                      # not a mapping
        "g.txt:\n",                                          # no fields: valid, unchanged
        encoding="utf-8",
    )
    r, out = ingest_json(folder, index)
    assert r.returncode == 3, r.stderr
    reasons = {Path(f["source"]).name: f["reason"] for f in out["failed"]}
    assert reasons == {
        "a.txt": "its metadata.yaml entry: language 'dk' is not one of da, sv, en",
        "b.txt": "its metadata.yaml entry: date '2010-13-45' is not a real date written YYYY, YYYY-MM or YYYY-MM-DD",
        "c.txt": "its metadata.yaml entry: unknown field 'langauge' (the fields are title, type, language, date, publisher)",
        "d.txt": "its metadata.yaml entry: title must be a single value, not list",
        "f.txt": "its metadata.yaml entry: must map field names to values, not a str ('Frivillighedspolitik')",
    }, reasons
    assert (out["updated"], out["removed"], out["unchanged"]) == (1, 0, 1)
    docs = index_state(index)["docs"]
    assert {"a", "b", "c", "d", "e"} <= set(docs)  # the failed files keep their indexed versions
    from assistant.stores import Index

    idx = Index(index)
    try:
        assert (idx.manifest.document("a").language, idx.manifest.document("a").type) == ("da", "press_release")
        assert (idx.manifest.document("e").language, idx.manifest.document("e").date) == ("sv", "2011-03")
    finally:
        idx.close()
