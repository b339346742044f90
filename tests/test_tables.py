"""PDFs read as a person reads them: table rows with their headers, real titles, labelled lines, scanned pages."""

from __future__ import annotations

import json
import shutil

import pytest

from assistant.errors import LoadError
from assistant.loading import load_document
from assistant.tables import row_header
from tests.conftest import assert_quotes_exact, run_cli

FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
ROWS = [("Serviceniveau for 2026", "Borgervelfærd", "November"),
        ("Udbud af hjælpemidler", "Myndighed", "Februar 2026")] + [
    (f"Sag nummer {n} om plejeboliger", "Sekretariatet", "Marts 2026") for n in range(3, 40)] + [
    ("Renovering af Solgården", "Sekretariatet", "Maj 2026")]


def _appendix(path, title_meta="Microsoft Word - Dokument3"):
    """A three-page appendix: 'Til:' first, its title only as a running header, a ruled table over the pages."""
    from fpdf import FPDF
    from fpdf.fonts import FontFace

    class Doc(FPDF):
        def header(self):
            self.set_font("dejavu", "", 12)
            self.cell(0, 8, "Sager på vej – Sundhed og Omsorg 2025", new_x="LMARGIN", new_y="NEXT")

    pdf = Doc()
    pdf.add_font("dejavu", "", FONT)
    pdf.add_font("dejavu", "B", FONT.replace("Sans.ttf", "Sans-Bold.ttf"))
    pdf.set_title(title_meta)
    pdf.add_page()
    pdf.set_font("dejavu", "", 10)
    pdf.multi_cell(0, 5, "Til: Udvalget, Ældrerådet, Direktionen m.fl.\nOversigten viser kommende sager.",
                   new_x="LMARGIN", new_y="NEXT")
    with pdf.table(col_widths=(95, 50, 45), headings_style=FontFace(emphasis="BOLD"), padding=3) as table:
        for r in [("Sag", "Afd.", "Forventet fremsendt"), *ROWS]:
            row = table.row()
            for c in r:
                row.cell(c)
    pdf.output(str(path))
    return path


def _minutes(path):
    from fpdf import FPDF

    pdf = FPDF()
    pdf.add_font("dejavu", "", FONT)
    pdf.add_page()
    pdf.set_font("dejavu", "", 18)
    pdf.cell(0, 10, "Referat af byrådsmøde 28. oktober 2025", new_x="LMARGIN", new_y="NEXT")
    pdf.set_font("dejavu", "", 10)
    pdf.multi_cell(0, 5, "Punkt 4: Forslag om gratis bus for pensionister\n"
                         "Stillet af: Gert Bjerregaard (V), byrådsmedlem\n"
                         "Forslaget koster 2,4 mio. kr. om året i tabt billetindtægt og blev drøftet i udvalget.\n"
                         "Beslutning: Forslaget blev forkastet med 19 stemmer mod 8.\n"
                         "Punkt 5: Ny legeplads i Vestbyen\n"
                         "Forslagsstiller: Anne Mørk (A)\n"
                         "Der ønskes en ny legeplads ved Vestbyens Skole til 1,8 mio. kr.\n"
                         "Beslutning: Godkendt.", new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(path))
    return path


def test_table_rows_keep_cells_apart_with_pages_and_the_running_header_is_the_title(tmp_path):
    doc = load_document(_appendix(tmp_path / "bilag.pdf"))
    row = "Serviceniveau for 2026 | Borgervelfærd | November"
    assert row in doc.text.split("\n")
    assert doc.title == "Sager på vej – Sundhed og Omsorg 2025"  # not "Microsoft Word - …", not "Til: …"
    last = doc.text.index("Renovering af Solgården | Sekretariatet | Maj 2026")
    assert doc.page_at(last) == len(doc.page_starts) >= 2
    assert row_header(doc.text, last) == ["Sag", "Afd.", "Forventet fremsendt"]  # over the page break


def test_a_cell_named_by_its_column_is_answered_with_the_row_and_its_page(tmp_path):
    from assistant.answering import Answerer
    from assistant.config import Settings
    from assistant.ingestion import ingest
    from assistant.retrieval import Retriever
    from assistant.stores import Index

    folder = tmp_path / "docs"
    folder.mkdir()
    _appendix(folder / "bilag.pdf")
    _minutes(folder / "referat.pdf")
    settings = Settings(index_dir=tmp_path / "index")
    assert not ingest([folder], settings).failed
    index = Index(settings.index_dir)
    try:
        answerer = Answerer(Retriever(index, settings.embed_model))
        ans = answerer.ask("Hvornår forventes sagen om serviceniveau for 2026 fremsendt?")
        assert not ans.refused, ans.refusal_reason
        assert ans.citations[0].quote == "Serviceniveau for 2026 | Borgervelfærd | November"
        assert ans.citations[0].page == 1
        assert "Forventet fremsendt: November" in ans.answer
        late = answerer.ask("Hvornår forventes sagen om renovering af Solgården fremsendt?")
        assert late.citations[0].quote.startswith("Renovering af Solgården") and late.citations[0].page >= 2
        who = answerer.ask("Hvem stillede forslaget om gratis bus for pensionister?")
        assert who.citations[0].quote == "Stillet af: Gert Bjerregaard (V), byrådsmedlem", who.answer
        assert answerer.ask("Hvem stillede forslaget om en ny svømmehal?").refused
        for a in (ans, late, who):
            assert_quotes_exact(a, index.manifest)
        titles = {d.source.rsplit("/", 1)[-1]: d.title for d in index.manifest.documents()}
        assert titles == {"bilag.pdf": "Sager på vej – Sundhed og Omsorg 2025",
                          "referat.pdf": "Referat af byrådsmøde 28. oktober 2025"}
    finally:
        index.close()


def test_html_and_docx_tables_are_rows_in_place(tmp_path):
    import docx

    html = tmp_path / "takster.html"
    html.write_text("<h1>Takster 2026</h1><p>Før.</p><table><tr><th>Tilbud</th><th>Takst 2026</th></tr>"
                    "<tr><td>Dagpleje</td><td>3.840 kr.</td></tr></table><p>Efter.</p>", encoding="utf-8")
    text = load_document(html).text
    assert "Tilbud | Takst 2026\nDagpleje | 3.840 kr." in text and text.index("Før.") < text.index("Dagpleje") < text.index("Efter.")
    d = docx.Document()
    d.add_paragraph("Före tabellen.")
    t = d.add_table(rows=2, cols=2)
    for cell, value in zip(t.rows[0].cells + t.rows[1].cells, ("Insats", "Avgift", "Trygghetslarm", "240 kr")):
        cell.text = value
    d.add_paragraph("Efter tabellen.")
    d.save(str(tmp_path / "avgifter.docx"))
    text = load_document(tmp_path / "avgifter.docx").text
    assert text.index("Före") < text.index("Trygghetslarm | 240 kr") < text.index("Efter")


def _scan(path, pages):
    """A PDF whose pages are only pictures of typed text (no text layer)."""
    from fpdf import FPDF
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.truetype(FONT, 34)
    pdf = FPDF()
    for n, text in enumerate(pages):
        img = Image.new("L", (1654, 2339), 255)
        ImageDraw.Draw(img).multiline_text((160, 200), text, fill=0, font=font, spacing=18)
        png = path.with_name(f"scan{n}.png")
        img.save(png)
        pdf.add_page()
        pdf.image(str(png), x=0, y=0, w=210, h=297)
    pdf.output(str(path))
    return path


@pytest.mark.skipif(not shutil.which("tesseract"), reason="Tesseract is not installed (apt-get install tesseract-ocr "
                    "tesseract-ocr-dan tesseract-ocr-swe)")
def test_a_scanned_pdf_is_read_by_ocr_and_marked(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    _scan(folder / "beslut.pdf", ["Beslut om föreningsbidrag 2026\n\nHandläggare: Eva Lindqvist",
                                  "Norrby IF får 85 000 kronor i\nverksamhetsbidrag för ungdomsverksamhet."])
    (folder / "scan0.png").unlink()
    (folder / "scan1.png").unlink()
    doc = load_document(folder / "beslut.pdf")
    assert doc.meta["ocr"] and "85 000 kronor" in doc.text
    assert doc.page_at(doc.text.index("85 000 kronor")) == 2
    index = tmp_path / "index"
    assert run_cli("ingest", str(folder), "--index", str(index)).returncode == 0
    listed = json.loads(run_cli("index", "status", "--index", str(index), "--json").stdout)
    assert listed["ocr_documents"] == 1
    docs = json.loads(run_cli("index", "list", "--index", str(index), "--json").stdout)["documents"]
    assert [d["ocr"] for d in docs] == [True]
    assert "(OCR)" in run_cli("index", "list", "--index", str(index)).stdout
    ans = json.loads(run_cli("ask", "Hur mycket får Norrby IF i verksamhetsbidrag?", "--index", str(index), "--json").stdout)
    assert not ans["refused"] and "85 000 kronor" in ans["answer"] and ans["citations"][0]["page"] == 2


def test_without_an_ocr_engine_a_scan_says_how_to_install_one(tmp_path, monkeypatch):
    import assistant.loading as loading

    _scan(tmp_path / "scan.pdf", ["Beslut om bidrag"])
    monkeypatch.setattr(loading, "ocr_languages", lambda: None)
    monkeypatch.setattr("assistant.ocr.ocr_languages", lambda: None)
    with pytest.raises(LoadError) as err:
        load_document(tmp_path / "scan.pdf")
    assert "no text layer" in str(err.value) and "apt-get install tesseract-ocr" in str(err.value)


def test_titles_are_never_routing_lines_addresses_or_converter_defaults():
    from assistant.titles import first_title_line, junk_metadata_title, largest_text, repeated_header

    assert junk_metadata_title("Microsoft Word - Dokument3") and junk_metadata_title("bilag_4.docx")
    assert not junk_metadata_title("Budgetnotat 2026 – Ældre og Handicap")
    assert first_title_line("Til: Udvalget\nTorvegade 12\n4000 Nordby\nInvesteringsplan 2026-2029") == "Investeringsplan 2026-2029"
    assert largest_text([("Nordby Kommune", 9.0), ("Referat af byrådsmøde", 18.0), ("28. oktober 2025", 18.0),
                         ("Mødested: Rådhuset, Byrådssalen og mere tekst her", 10.0)]) == "Referat af byrådsmøde 28. oktober 2025"
    assert repeated_header(["Sager på vej 2025\nTil: Udvalget\nTekst", "Sager på vej 2025\nMere", "Sager på vej 2025\nSlut"]) \
        == "Sager på vej 2025"
