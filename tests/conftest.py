"""Shared fixtures: a real index of the seed corpus, built once per test session."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

os.environ.setdefault("OMP_WAIT_POLICY", "passive")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "corpus"
ASSISTANT = [sys.executable, "-m", "assistant"]


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


def assert_quotes_exact(answer, manifest) -> None:
    """Every citation's quote is the canonical text between its offsets."""
    for c in answer.citations + answer.see_also:
        text = manifest.document_text(c.doc_id)
        assert text is not None, c.doc_id
        assert text[c.start : c.end] == c.quote, (c.doc_id, c.start, c.end)
