"""Sentences, chunks and language detection on real seed text."""

from __future__ import annotations

from assistant.chunking import chunk_text, sentence_spans
from assistant.language import analyze, detect_language
from assistant.loading import load_document


def test_seed_languages(corpus_copy):
    for path in corpus_copy.glob("*.txt"):
        expected = path.name[:2]
        assert detect_language(load_document(path).text) == expected, path.name


def test_question_languages():
    assert detect_language("Hvor meget udbetalte kommunerne i 2009 i § 18-støtte?") == "da"
    assert detect_language("Hur ska de lokala projekten finansieras?") == "sv"
    assert detect_language("How much did the municipalities pay out in 2009?") == "en"


def test_sentences_respect_abbreviations():
    text = "Regeringen vil bruge 100 mio. kr. over fire år. Dato: 16. december 2008. J.nr. 2008-1550 gælder."
    sents = [text[s:e] for s, e in sentence_spans(text)]
    assert sents == ["Regeringen vil bruge 100 mio. kr. over fire år.", "Dato: 16. december 2008.", "J.nr. 2008-1550 gælder."]


def test_chunks_are_exact_slices_within_size(corpus_copy):
    for path in corpus_copy.glob("*.txt"):
        doc = load_document(path)
        chunks = chunk_text(doc.text)
        assert chunks
        for c in chunks:
            assert doc.text[c.start : c.end] == c.text
            assert len(c.text.split()) <= 250
        covered = set()
        for c in chunks:
            covered.update(range(c.start, c.end))
        words = [m for m in range(len(doc.text)) if not doc.text[m].isspace()]
        assert sum(1 for m in words if m in covered) / len(words) > 0.99


def test_analyzer_stems_and_keeps_identifiers():
    terms = analyze("J.nr. 2008-1550 om kommunernes § 18-støtte", "da")
    assert "2008-1550" in terms and "§18" in terms and "kommun" in terms
    assert "om" not in terms
