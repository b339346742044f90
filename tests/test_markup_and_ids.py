"""Markup never reaches the canonical text, quotes start at sentence starts, identifiers rank their passage first."""

from __future__ import annotations

import json

from conftest import run_cli

from assistant.chunking import chunk_text, sentence_spans, starts_mid_sentence, whole_sentences
from assistant.loading import load_document
from assistant.retrieval import identifier_pattern, identifiers

MARKDOWN = """# Frivillighedspolitik 2010

![](/contentassets/f124b06336414532ae3e2d8e9556bd91/omslag.jpg?width=150&quality=85)

Kommunen støtter de frivillige sociale foreninger med 2 mio. kr. om året, se [politikken](https://example.org/p).
<!-- intern note: husk at opdatere tallene
før byrådsmødet -->
Støtten fordeles af Frivilligrådet.

```{figure} billeder/udbetalinger.png
:alt: Søjlediagram over udbetalinger
:width: 80%

Figur 1: Udbetalinger til frivilligt socialt arbejde 2009.
```

```{image} billeder/logo.png
:alt: Kommunens logo
```

Ansøgninger behandles fire gange om året. ![ikon](billeder/ikon.png)
"""
MARKUP = ("![", "](", "contentassets", "omslag.jpg", "{figure}", "{image}", "```", ":alt:", ":width:",
          "billeder/", "Søjlediagram", "Kommunens logo", "ikon", "<!--", "-->", "intern note", "byrådsmødet")


def test_markdown_loads_without_images_directives_or_comments(tmp_path):
    path = tmp_path / "politik.md"
    path.write_text(MARKDOWN, encoding="utf-8")
    doc = load_document(path)
    assert doc.title == "Frivillighedspolitik 2010"
    assert doc.text == (
        "Frivillighedspolitik 2010\n\n"
        "Kommunen støtter de frivillige sociale foreninger med 2 mio. kr. om året, se politikken.\n"
        "Støtten fordeles af Frivilligrådet.\n\n"
        "Figur 1: Udbetalinger til frivilligt socialt arbejde 2009.\n\n"  # a figure keeps its caption only
        "Ansøgninger behandles fire gange om året."
    )


def test_html_comments_are_dropped(tmp_path):
    path = tmp_path / "side.html"
    path.write_text(
        "<html><body><h1>Nyhed</h1><p>Regeringen afsætter <!-- skjult\nkommentar --> 100 mio. kr.</p>"
        "<!--[if IE]><p>Gammel browser</p><![endif]--><p>Slut.</p></body></html>",
        encoding="utf-8",
    )
    text = load_document(path).text
    assert "Regeringen afsætter 100 mio. kr." in text and "Slut." in text
    assert "skjult" not in text and "kommentar" not in text and "Gammel browser" not in text and "<!--" not in text


def test_ingested_and_searched_markdown_holds_no_markup(tmp_path):
    from assistant.config import Settings
    from assistant.ingestion import ingest
    from assistant.retrieval import Retriever
    from assistant.stores import Index

    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "politik.md").write_text(MARKDOWN, encoding="utf-8")
    (folder / "side.html").write_text("<p>Frivilligrådet mødes <!-- intern note --> hver måned.</p>", encoding="utf-8")
    settings = Settings(index_dir=tmp_path / "index")
    report = ingest([folder], settings)
    assert report.added == 2 and not report.failed
    index = Index(settings.index_dir)
    try:
        for d in index.manifest.documents():
            text = index.manifest.document_text(d.doc_id)
            assert not [m for m in MARKUP if m in text], (d.doc_id, text)
        hits = Retriever(index, settings.embed_model).search("omslag billede logo søjlediagram intern note", k=10)
        assert hits
        for h in hits:
            assert not [m for m in MARKUP if m in h.chunk.text], h.chunk.text
            assert index.manifest.document_text(h.chunk.doc_id)[h.chunk.start : h.chunk.end] == h.chunk.text
    finally:
        index.close()


LONG = "Kommunen skal i sin afgørelse oplyse borgeren om adgangen til at klage over afgørelsen til de rette myndigheder."


def test_a_short_line_inside_a_sentence_does_not_start_one():
    # A hard-wrapped paragraph whose line breaks early ("… 2009. Folketingets"): the short line was taken
    # for a paragraph end, and "ombudsmand, der kan …" was quoted as a sentence.
    for name in ("ombudsmand", "Ombudsmand"):
        text = f"{LONG}\nDet gælder også i 2009. Folketingets\n{name}, der kan tage sager op af egen drift, har udtalt kritik.\n{LONG}"
        sents = [text[s:e] for s, e in sentence_spans(text)]
        assert f"Folketingets\n{name}, der kan tage sager op af egen drift, har udtalt kritik." in sents, sents
        assert not any(s.startswith(name) for s in sents), sents
    text = f"{LONG}\nKommunen har i alt brugt 100 mio.\nkr. på området. Det er en stigning."
    assert [text[s:e] for s, e in sentence_spans(text)][1:] == ["Kommunen har i alt brugt 100 mio.\nkr. på området.", "Det er en stigning."]


def test_headings_labels_and_bullets_still_start_sentences():
    text = f"Baggrund\n{LONG}\nDato: 16. december 2008\nKontakt:\nBerit Steengaard Olesen, tlf. 33 92 43 95\n- første punkt\n- andet punkt"
    assert [text[s:e] for s, e in sentence_spans(text)] == [
        "Baggrund", LONG, "Dato: 16. december 2008", "Kontakt:", "Berit Steengaard Olesen, tlf. 33 92 43 95",
        "- første punkt", "- andet punkt",
    ]


def test_a_passage_that_starts_mid_sentence_is_recognised():
    text = f"{LONG}\nDet gælder også i 2009. Folketingets\nOmbudsmand, der kan tage sager op af egen drift, har udtalt kritik.\n{LONG}"
    at = text.index("Folketingets")
    # Cut at a sentence start, the passage alone reads its short first line as a heading; in its document it is not.
    assert [text[s:e] for s, e in whole_sentences(text, at, len(text))] == [
        "Folketingets\nOmbudsmand, der kan tage sager op af egen drift, har udtalt kritik.", LONG
    ]
    assert not starts_mid_sentence(text[:at], text[at:])
    cut = text.index("Ombudsmand")
    assert starts_mid_sentence(text[:cut], text[cut:])
    assert whole_sentences(text, cut, len(text)) == [(text.index(LONG, cut), len(text))]
    assert starts_mid_sentence("Regeringen vil bruge 100 mio. ", "kr. over fire år.")
    assert not starts_mid_sentence("Første afsnit uden punktum\n\n", "andet afsnit.")
    assert not starts_mid_sentence("Det er slut. ") and starts_mid_sentence("Det er ikke slut og ")
    # A sentence over 250 words is cut into chunks: the ones after the first start inside it.
    long_doc = f"{LONG}\n\n" + " og ".join(["kommunen betaler"] * 200) + "."
    chunks = chunk_text(long_doc)
    assert [starts_mid_sentence(long_doc[: c.start], c.text) for c in chunks] == [False] + [True] * (len(chunks) - 1)
    assert all(whole_sentences(long_doc, c.start, c.end) == [] for c in chunks[1:])


def test_identifiers_in_questions():
    assert identifiers("Hvem har tlf. 33 92 43 95?") == ["33 92 43 95"]
    assert identifiers("Ring 08-772 43 18 eller 3392 9300") == ["08-772 43 18", "3392 9300"]
    assert identifiers("J.nr. 2008-1550 og cirkulär 1997:145, prop. 2016/17:104") == ["2008-1550", "1997:145", "2016/17:104"]
    assert identifiers("Hvor meget fik foreningerne i 2009 og 2010, 100.000 kr. eller 2.5 mio.?") == []
    assert identifiers("Hvad skete der i 2009 2010?") == []
    rx = identifier_pattern("33 92 43 95")
    assert rx.search("tlf. 33 92\n43  95, mobil") and not rx.search("33 92 43 951") and not rx.search("33 92 46 71")


def test_a_phone_number_ranks_the_passage_that_writes_it_first(seed_settings):
    result = run_cli("search", "--index", str(seed_settings.index_dir), "33 92 43 95", "--json", "-k", "5")
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)["results"]
    assert "33 92 43 95" in " ".join(hits[0]["text"].split())
    # Passages sharing only some parts ("33 92 46 71", "33 92 38 00") come after it.
    assert any("33 92" in h["text"] and "33 92 43 95" not in " ".join(h["text"].split()) for h in hits[1:])
    for question, written in (("2008-1550", "J.nr. 2008-1550"), ("1997:145", "1997:145")):
        result = run_cli("search", "--index", str(seed_settings.index_dir), question, "--json", "-k", "3")
        assert written in json.loads(result.stdout)["results"][0]["text"], question
