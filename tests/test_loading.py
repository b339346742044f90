"""Loading: formats, encodings, hygiene, pages, and clear errors for bad files."""

from __future__ import annotations

import pytest
from conftest import write_pdf

from assistant.errors import LoadError
from assistant.loading import clean_text, load_document


def test_pdf_keeps_page_numbers_and_drops_running_header(tmp_path):
    pages = [
        f"Frederiksberg Kommune\nSide {i}\nAfsnit {i}: kommunen afsatte {i} mio. kr. til frivilligt arbejde i år."
        for i in range(1, 5)
    ]
    doc = load_document(write_pdf(tmp_path / "rapport.pdf", pages))
    assert len(doc.page_starts) == 4
    for i in range(1, 5):
        pos = doc.text.index(f"Afsnit {i}:")
        assert doc.page_at(pos) == i
    assert "Frederiksberg Kommune" not in doc.text  # header on every page is boilerplate


def test_encrypted_pdf_gives_reason(tmp_path):
    path = write_pdf(tmp_path / "hemmelig.pdf", ["Fortroligt notat om budget."], encrypt="hemmelig")
    with pytest.raises(LoadError, match="hemmelig.pdf: encrypted PDF"):
        load_document(path)


def test_corrupt_and_empty_files_give_reasons(tmp_path):
    bad = tmp_path / "broken.pdf"
    bad.write_bytes(b"%PDF-1.4\n1 0 obj << /Type /Catalog >> garbage")
    with pytest.raises(LoadError, match="broken.pdf: "):
        load_document(bad)
    empty = tmp_path / "empty.txt"
    empty.write_bytes(b"")
    with pytest.raises(LoadError, match="empty.txt: empty file"):
        load_document(empty)
    binary = tmp_path / "data.txt"
    binary.write_bytes(bytes(range(256)) * 20)
    with pytest.raises(LoadError, match="data.txt: binary data"):
        load_document(binary)


def test_cp1252_danish_text_decodes(tmp_path):
    p = tmp_path / "notat.txt"
    p.write_bytes("Kommunernes støtte til frivillige sociale foreninger på Frederiksberg – særlig indsats.".encode("cp1252"))
    doc = load_document(p)
    assert "støtte" in doc.text and "på" in doc.text and "særlig" in doc.text and "–" in doc.text



def test_utf16_text_decodes_and_an_unknown_code_page_is_refused(tmp_path):
    notepad = tmp_path / "unicode.txt"  # Notepad's "Unicode": UTF-16 with a byte-order mark
    notepad.write_bytes("Kommunernes støtte til frivillige sociale foreninger.".encode("utf-16"))
    assert load_document(notepad).text == "Kommunernes støtte til frivillige sociale foreninger."
    russian = tmp_path / "koi8.txt"  # read as Windows-1252 it would be "üÔÏ ÔÅËÓÔ Ï ÄÏÂÒÏ×…"
    russian.write_bytes("Это текст о добровольной социальной работе в муниципалитетах.".encode("koi8-r"))
    with pytest.raises(LoadError, match=r"koi8.txt: unknown text encoding \(not UTF-8"):
        load_document(russian)
    word = tmp_path / "rapport.pdf"  # a Word file with the wrong extension
    word.write_bytes(b"PK\x03\x04" + bytes(200))
    with pytest.raises(LoadError, match=r"rapport.pdf: not a PDF \(a Word .docx or other ZIP file\)"):
        load_document(word)

def test_hygiene_nfc_soft_hyphen_and_line_hyphenation():
    text = clean_text("Samar\u00adbejdet med frivil-\nlige foreninger i Ga\u030avle")
    assert text == "Samarbejdet med frivillige foreninger i Gåvle"
    assert clean_text("Social-\nog Integrationsministeriet") == "Social-\nog Integrationsministeriet"


def test_letter_spaced_slide_header_removed(corpus_copy):
    doc = load_document(corpus_copy / "da-2010-frederiksberg-frivillighedspolitik.txt")
    assert "F R E D E R I K S B E R G" not in doc.text
    assert "K O M M U N E" not in doc.text
    assert doc.title == "Udfordringer for samarbejdet mellem den frivillige verden og den offentlige sektor"


def test_markdown_html_docx(tmp_path):
    md = tmp_path / "politik.md"
    md.write_text("# Frivillighedspolitik\n\nSe [strategien](https://example.org) for **detaljer**.\n", encoding="utf-8")
    d = load_document(md)
    assert d.title == "Frivillighedspolitik" and "Se strategien for detaljer." in d.text

    html = tmp_path / "side.html"
    html.write_bytes(
        "<html><head><title>Nyhed</title><script>var x=1;</script></head>"
        "<body><h1>Ny strategi</h1><p>Regeringen afsætter 100&nbsp;mio. kr.</p><ul><li>Et</li><li>To</li></ul></body></html>".encode()
    )
    d = load_document(html)
    assert d.title == "Ny strategi" and "Regeringen afsætter 100 mio. kr." in d.text
    assert "var x" not in d.text and "- Et" in d.text

    import docx

    doc = docx.Document()
    doc.add_heading("Cirkulär om frivilligt arbete", level=1)
    doc.add_paragraph("De lokala projekten förutsätts finansieras i kommunen.")
    path = tmp_path / "cirkular.docx"
    doc.save(str(path))
    d = load_document(path)
    assert d.title == "Cirkulär om frivilligt arbete"
    assert "De lokala projekten förutsätts finansieras i kommunen." in d.text

    broken = tmp_path / "trasig.docx"
    broken.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(LoadError, match="trasig.docx: broken .docx"):
        load_document(broken)
