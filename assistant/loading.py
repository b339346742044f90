"""Reading documents (PDF, text, Markdown, HTML, DOCX) into clean canonical text with pages."""

from __future__ import annotations

import bisect
import hashlib
import re
import stat
import unicodedata
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path

from .errors import LoadError
from .ocr import INSTALL_HINT, ocr_languages
from .tables import Table, format_row, page_tables
from .titles import first_title_line, junk_metadata_title, largest_text, repeated_header

TEXT_EXTS = {".txt", ".text"}
MD_EXTS = {".md", ".markdown"}
HTML_EXTS = {".html", ".htm"}
SUPPORTED_EXTS = {".pdf", ".docx"} | TEXT_EXTS | MD_EXTS | HTML_EXTS
METADATA_FILES = {"metadata.yaml", "metadata.yml"}
MAX_BYTES = 200 * 1024 * 1024
LEGACY_MAX_ACCENTED = 0.3  # Danish or Swedish text read as Windows-1252 has far fewer accented letters than this


@dataclass
class LoadedDocument:
    """A document's canonical text, where its pages start, and what the file said about itself."""

    text: str
    page_starts: list[int] | None = None  # offsets of pages 1..n in text; None: not paged
    title: str | None = None
    meta: dict = field(default_factory=dict)

    def page_at(self, offset: int) -> int | None:
        """The 1-based page holding a character offset (None for unpaged documents)."""
        return page_at(self.page_starts, offset)


def page_at(page_starts: list[int] | None, offset: int) -> int | None:
    """The 1-based page that holds a character offset, given where pages start."""
    if not page_starts:
        return None
    return max(1, bisect.bisect_right(page_starts, offset))


def file_hash(data: bytes, extra: bytes = b"") -> str:
    """The content hash a document is known by: sha256 of its bytes followed by `extra` (no copy)."""
    h = hashlib.sha256(data)
    h.update(extra)
    return h.hexdigest()


# --- text hygiene ------------------------------------------------------------------------------

_LETTER_SPACED = re.compile(r"^(?:\S ){3,}\S$")
_EOL_HYPHEN = re.compile(r"([^\W\d_]{2,})-\n[ \t]*(?!(?:og|och|eller|samt|and|or)\b)([a-zæøåäöü]\w*)")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def clean_text(text: str) -> str:
    """Unicode NFC, no soft hyphens or control characters, line-end hyphenation joined."""
    text = unicodedata.normalize("NFC", text)
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\u00ad", "")
    text = text.replace("\u00a0", " ").replace("\ufeff", "")
    text = _CONTROL.sub("", text)
    text = _EOL_HYPHEN.sub(r"\1\2", text)
    text = "\n".join(line.rstrip() for line in text.split("\n"))
    return text


def _line_key(line: str) -> str:
    key = re.sub(r"\s+", " ", line.strip().lower())
    return re.sub(r"\d+", "#", key) if len(key) <= 30 else key  # "Side 3 af 12" ~ "Side 4 af 12"


def _edge_lines(page: str, n: int = 3) -> set[str]:
    lines = [ln for ln in page.split("\n") if ln.strip()]
    return {_line_key(ln) for ln in lines[:n] + lines[-n:]}


def remove_boilerplate(pages: list[str]) -> list[str]:
    """Drop lines that repeat page after page (running headers, footers, letter-spaced logos)."""
    all_lines = [_line_key(ln) for page in pages for ln in page.split("\n") if ln.strip()]
    counts = Counter(all_lines)
    page_counts: Counter[str] = Counter()
    for page in pages:
        page_counts.update(_edge_lines(page))
    drop: set[str] = set()
    for key, n in counts.items():
        if n >= 2 and _LETTER_SPACED.match(key) and len(key) >= 7:
            drop.add(key)  # "F R E D E R I K S B E R G"
        elif len(pages) >= 3 and page_counts[key] >= max(3, 0.5 * len(pages)) and len(key) <= 80:
            drop.add(key)  # a header or footer on most pages
    if not drop:
        return pages
    out = []
    for page in pages:
        lines = [ln for ln in page.split("\n") if not (ln.strip() and _line_key(ln) in drop)]
        out.append("\n".join(lines))
    return out


def _tidy(text: str) -> str:
    text = re.sub(r"\n{3,}", "\n\n", text)
    return text.strip("\n ")


def assemble(pages: list[str], paged: bool) -> tuple[str, list[int] | None]:
    """Clean pages, strip boilerplate, join them; return text and page start offsets."""
    pages = remove_boilerplate([clean_text(p) for p in pages])
    pages = [_tidy(p) for p in pages]
    if not paged:
        return pages[0] if pages else "", None
    starts: list[int] = []
    parts: list[str] = []
    pos = 0
    for p in pages:
        starts.append(pos)
        parts.append(p)
        pos += len(p) + 2
    return "\n\n".join(parts), starts


# --- decoding ----------------------------------------------------------------------------------


def looks_binary(data: bytes) -> bool:
    """True for bytes that are not text in any encoding we read (NULs, many control bytes)."""
    sample = data[:65536]
    if b"\x00" in sample:
        return True
    ctrl = sum(1 for b in sample if b < 32 and b not in (9, 10, 12, 13))
    return ctrl > max(8, len(sample) // 100)


def decode_text(data: bytes, name: str) -> str:
    """Decode UTF-8 (with or without BOM), else the Windows/Latin-1 legacy encodings.

    Text that is UTF-8 but for a few invalid bytes keeps its UTF-8 reading, with U+FFFD
    replacement characters where the bytes were broken (rather than turning into mojibake).
    """
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):  # a UTF-16 byte-order mark (Notepad's "Unicode")
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            raise LoadError(f"{name}: broken UTF-16 text") from None
    if looks_binary(data):
        raise LoadError(f"{name}: binary data, not text")
    text, legacy = _decode_as(data)
    if legacy and _implausible_legacy(text):
        sample = " ".join(text.split())[:30]
        raise LoadError(f"{name}: unknown text encoding (not UTF-8; read as Windows-1252 it says \"{sample}\")")
    return text


def _implausible_legacy(text: str) -> bool:
    """True when text read as Windows-1252 is mostly accented letters: another code page (KOI8-R, cp1251, …)."""
    letters = [c for c in text if c.isalpha()]
    foreign = sum(1 for c in letters if not c.isascii())
    return len(letters) >= 20 and foreign > LEGACY_MAX_ACCENTED * len(letters)


def _decode(data: bytes, declared: str | None = None) -> str:
    return _decode_as(data, declared)[0]


def _decode_as(data: bytes, declared: str | None = None) -> tuple[str, bool]:
    """The text, and whether it had to be read in a legacy code page (cp1252, latin-1) for want of UTF-8."""
    if declared:
        try:
            return data.decode(declared), False
        except (UnicodeDecodeError, LookupError):
            pass
    try:
        return data.decode("utf-8-sig"), False
    except UnicodeDecodeError:
        pass
    if mostly_utf8(data):
        return data.decode("utf-8-sig", errors="replace"), False
    try:
        return data.decode("cp1252"), True
    except UnicodeDecodeError:
        return data.decode("latin-1"), True


_ASCII_OR_BAD = re.compile("[\x00-\x7f\ufffd]+")


def mostly_utf8(data: bytes) -> bool:
    """True when the text has valid UTF-8 multi-byte sequences and not many more broken bytes than those."""
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd")
    good = len(_ASCII_OR_BAD.sub("", text))
    return good > 0 and bad <= 8 * good  # in cp1252 text valid UTF-8 pairs are rare accidents


# --- formats -----------------------------------------------------------------------------------


def _first_line_title(text: str) -> str | None:
    return first_title_line(text)


def _load_text(data: bytes, name: str) -> LoadedDocument:
    raw = decode_text(data, name)
    paged = "\f" in raw
    pages = raw.split("\f") if paged else [raw]
    text, starts = assemble(pages, paged)
    return LoadedDocument(text, starts, _first_line_title(text))


_MD_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_MD_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+", re.M)
_MD_EMPH = re.compile(r"(\*\*|__)(.+?)\1")
_COMMENT = r"<!--(?:(?!-->).)*-->"
_MD_COMMENT_LINES = re.compile(rf"^[ \t]*(?:{_COMMENT}[ \t]*)+(?:\n|\Z)", re.M | re.S)
_MD_COMMENT = re.compile(rf"[ \t]*{_COMMENT}", re.S)
# An image, also inside a link: ![alt](url), ![alt][ref], [![alt](img)](url).
_IMAGE = r"(?:\[!\[[^\]\n]*\]\([^)\n]*\)\]\([^)\n]*\)|!\[[^\]\n]*\](?:\([^)\n]*\)|\[[^\]\n]*\]))"
_MD_IMAGE_LINES = re.compile(rf"^[ \t]*(?:{_IMAGE}[ \t]*)+(?:\n|\Z)", re.M)
_MD_IMAGE = re.compile(rf"[ \t]*{_IMAGE}")
_FENCE = re.compile(r"^[ \t]{0,3}(`{3,}|~{3,}|:{3,})[ \t]*(?:\{([\w:.-]+)\})?[ \t]*(.*?)[ \t]*$")
_DIRECTIVE_OPTION = re.compile(r"^[ \t]*:[\w-]+:(?:[ \t].*)?$")
# MyST directives whose body is not prose (dropped whole); the others keep their body, without options.
_DROP_DIRECTIVES = frozenset(
    "image code code-block code-cell sourcecode literalinclude include toctree math raw eval-rst mermaid "
    "graphviz contents tableofcontents bibliography".split()
)
_TITLE_DIRECTIVES = frozenset("admonition table list-table topic sidebar dropdown card tab-item rubric".split())


def _fence_closes(line: str, fence: str) -> bool:
    stripped = line.strip()
    return len(line) - len(line.lstrip()) <= 3 and len(stripped) >= len(fence) and stripped == fence[0] * len(stripped)


def _directive_body(body: list[str]) -> list[str]:
    """A MyST directive's content without its leading `:key: value` options or `---` YAML option block."""
    if body and body[0].strip() == "---":
        end = next((i for i in range(1, len(body)) if body[i].strip() == "---"), None)
        if end is not None:
            return body[end + 1 :]
    i = 0
    while i < len(body) and _DIRECTIVE_OPTION.match(body[i]):
        i += 1
    return body[i:]


def strip_fenced_blocks(md: str) -> str:
    """Markdown without fence lines: code keeps its lines, a MyST directive keeps only its prose.

    ```{figure} path …``` keeps its caption and legend, not its path or `:alt:`/`:width:` options;
    admonitions keep their text (and title); image, code-block, toctree, math and other non-prose
    directives go whole. An unclosed fence runs to the end, as in CommonMark.
    """
    lines = md.split("\n")
    out: list[str] = []
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m or (m.group(1)[0] == ":" and not m.group(2)) or (m.group(1)[0] == "`" and "`" in m.group(3)):
            out.append(lines[i])
            i += 1
            continue
        fence, name, arg = m.group(1), (m.group(2) or "").lower(), m.group(3)
        j = i + 1
        while j < len(lines) and not _fence_closes(lines[j], fence):
            j += 1
        body = lines[i + 1 : j]
        i = j + 1
        if not m.group(2):
            out.extend(["", *body, ""])  # a code block: its code, without the fences
        elif name not in _DROP_DIRECTIVES:
            title = [arg, ""] if arg and name in _TITLE_DIRECTIVES else []
            out.extend(["", *title, strip_fenced_blocks("\n".join(_directive_body(body))), ""])
        else:
            out.append("")  # a block of its own: the paragraphs around it stay apart
    return "\n".join(out)


def markdown_to_text(md: str) -> str:
    """Plain text of Markdown: link text kept; images, comments, fences, directive options, marks and tags dropped."""
    md = md.replace("\r\n", "\n").replace("\r", "\n")
    md = _MD_COMMENT_LINES.sub("", md)  # a line that is only a comment goes with its line break
    md = _MD_COMMENT.sub("", md)
    md = strip_fenced_blocks(md)
    md = _MD_IMAGE_LINES.sub("", md)  # an image line goes whole: its alt text is not the document's text
    md = _MD_IMAGE.sub("", md)
    md = _MD_LINK.sub(r"\1", md)
    md = _MD_HEADING.sub("", md)
    md = _MD_EMPH.sub(r"\2", md)
    md = re.sub(r"</?[a-zA-Z][^>\n]*>", "", md)
    return md


def _load_markdown(data: bytes, name: str) -> LoadedDocument:
    raw = decode_text(data, name)
    plain = markdown_to_text(raw)
    heading = re.search(r"^\s{0,3}#\s+(.+)$", strip_fenced_blocks(_MD_COMMENT.sub("", raw)), re.M)
    text, _ = assemble([plain], False)
    title = _MD_LINK.sub(r"\1", _MD_IMAGE.sub("", heading.group(1))).strip() if heading else None
    return LoadedDocument(text, None, title or _first_line_title(text))


class _HTMLText(HTMLParser):
    BLOCK = {
        "p", "div", "br", "li", "ul", "ol", "h1", "h2", "h3", "h4", "h5", "h6", "tr", "table",
        "section", "article", "header", "footer", "blockquote", "pre", "dd", "dt", "hr", "title",
    }
    SKIP = {"script", "style", "noscript", "template", "svg", "nav"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0
        self.title: str | None = None
        self.h1: str | None = None
        self._in: str | None = None
        self._buf: list[str] = []
        self._cells = 0  # cells begun in the current table row

    def handle_starttag(self, tag, attrs):
        if tag in self.SKIP:
            self.skip += 1
        if tag == "tr":
            self._cells = 0
        if tag in ("td", "th") and not self.skip:  # a row's cells stay apart on its line: "Dagpleje | 3.720 kr."
            self.parts.append(" | " if self._cells else "")
            self._cells += 1
        if tag in self.BLOCK:
            self.parts.append("\n\n" if tag not in ("br", "li", "tr") else "\n")
        if tag == "li":
            self.parts.append("- ")
        if tag in ("title", "h1") and self._in is None:
            self._in, self._buf = tag, []

    def handle_endtag(self, tag):
        if tag in self.SKIP and self.skip:
            self.skip -= 1
        if tag == "table":
            self._cells = 0
        if tag == self._in:
            val = " ".join("".join(self._buf).split())
            if tag == "title" and not self.title:
                self.title = val
            if tag == "h1" and not self.h1:
                self.h1 = val
            self._in = None
        if tag in self.BLOCK and tag != "tr":
            self.parts.append("\n\n")

    def handle_data(self, data):
        if self.skip:
            return
        if self._in:
            self._buf.append(data)
        if self._in == "title":
            return
        self.parts.append(re.sub(r"[ \t\r\n]+", " ", data.replace("|", "/") if self._cells else data))


def _html_encoding(data: bytes) -> str | None:
    m = re.search(rb"<meta[^>]+charset=[\"']?([\w-]+)", data[:4096], re.I)
    return m.group(1).decode("ascii", "ignore").lower() if m else None


def _load_html(data: bytes, name: str) -> LoadedDocument:
    if b"\x00" in data[:65536]:
        raise LoadError(f"{name}: binary data, not HTML")
    raw = _decode(data, _html_encoding(data))
    parser = _HTMLText()
    parser.feed(raw)
    parser.close()
    body = "".join(parser.parts)
    body = "\n".join(" ".join(line.split()) for line in body.split("\n"))
    text, _ = assemble([body], False)
    return LoadedDocument(text, None, parser.h1 or parser.title or _first_line_title(text))


def _load_pdf(data: bytes, name: str) -> LoadedDocument:
    import io
    import logging

    import pypdf

    logging.getLogger("pypdf").setLevel(logging.ERROR)  # no "EOF marker not found" noise on stderr
    if b"%PDF-" not in data[:1024]:
        kind = "a Word .docx or other ZIP file" if data[:2] == b"PK" else "no %PDF header"
        raise LoadError(f"{name}: not a PDF ({kind})")
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted:
            try:
                ok = reader.decrypt("")
            except Exception:
                ok = 0
            if not ok:
                raise LoadError(f"{name}: encrypted PDF (a password is needed)")
        pages = [page.extract_text() or "" for page in reader.pages]
        info_title = None
        try:
            info_title = (reader.metadata or {}).get("/Title")
        except Exception:
            pass
    except LoadError:
        raise
    except Exception as exc:  # pypdf raises many kinds (PdfReadError, PdfStreamError, ValueError…) on broken files
        reason = next((ln.strip() for ln in str(exc).splitlines() if ln.strip()), "the file could not be parsed")
        raise LoadError(f"{name}: corrupt or truncated PDF ({reason[:120]})") from None
    if not pages:
        raise LoadError(f"{name}: PDF has no pages")
    sized = _layout(data, pages)  # tables written as rows; the first page's lines with their type size
    ocr_pages = _ocr(data, pages, name)
    if ocr_pages and not sized:
        sized = ocr_pages[min(ocr_pages)]
    if not any(p.strip() for p in pages):
        if ocr_languages():
            raise LoadError(f"{name}: PDF has no text layer, and OCR found no text on its pages")
        raise LoadError(f"{name}: PDF has no text layer (a scan) and no OCR engine is installed to read it "
                        f"(Debian/Ubuntu: {INSTALL_HINT})")
    info = str(info_title).strip() if info_title else ""
    title = (None if junk_metadata_title(info) else " ".join(info.split())) or largest_text(sized) \
        or repeated_header(pages)
    text, starts = assemble(pages, True)
    meta = {"ocr": True, "ocr_pages": sorted(i + 1 for i in ocr_pages)} if ocr_pages else {}
    return LoadedDocument(text, starts, title or _first_line_title(text), meta)


def _layout(data: bytes, pages: list[str]) -> list[tuple[str, float]]:
    """Rewrite the pages that hold tables with one line per row (in place); return page 1's lines and type sizes.

    Pages without tables keep pypdf's text. A file pdfplumber cannot read keeps pypdf's text throughout.
    """
    import io

    try:
        import pdfplumber
    except ImportError:  # an install without it reads PDFs as before
        return []
    sized: list[tuple[str, float]] = []
    try:
        with pdfplumber.open(io.BytesIO(data)) as pdf:
            for i, page in enumerate(pdf.pages[: len(pages)]):
                if not pages[i].strip():
                    continue
                if not sized:
                    sized = [(ln["text"], _size(ln)) for ln in page.extract_text_lines(return_chars=True)]
                tables = page_tables(page)
                if tables:
                    pages[i] = _with_tables(page, tables)
    except Exception:  # pdfminer raises its own kinds on files pypdf reads; tables are a bonus, text is not
        return sized
    return sized


def _size(line: dict) -> float:
    sizes = sorted(c.get("size", 0.0) for c in line.get("chars", []) if not c.get("text", " ").isspace())
    return sizes[len(sizes) // 2] if sizes else 0.0


def _with_tables(page, tables: list[Table]) -> str:
    """A page's text read by pdfplumber, each table in its place as one line per row (cells apart)."""
    x0, _, x1, _ = page.bbox
    outside = page
    for t in tables:
        outside = outside.outside_bbox((x0, max(page.bbox[1], t.top - 0.5), x1, min(page.bbox[3], t.bottom + 0.5)))
    items = [(ln["top"], ln["text"]) for ln in outside.extract_text_lines()]
    items += [(t.top + k * 1e-3, format_row(row)) for t in tables for k, row in enumerate(t.rows)]
    return "\n".join(text for _, text in sorted(items, key=lambda it: it[0]))


def _ocr(data: bytes, pages: list[str], name: str) -> dict[int, list[tuple[str, float]]]:
    """OCR the pages without a text layer when Tesseract is installed (in place); their lines with line heights."""
    from .ocr import ocr_languages, ocr_page

    blank = [i for i, p in enumerate(pages) if not p.strip()]
    if not blank or not ocr_languages():
        return {}
    from .language import detect_language

    out = {}
    first = None  # the document's language, from its first page read
    for i in blank:
        try:
            lines = ocr_page(data, i, first or "dan")
            if first is None:
                first = "swe" if detect_language("\n".join(t for t, _ in lines), default="da") == "sv" else "dan"
                if first == "swe":
                    lines = ocr_page(data, i, first)
        except OSError as exc:
            raise LoadError(f"{name}: page {i + 1} could not be read by OCR ({exc})") from None
        if any(t.strip() for t, _ in lines):
            pages[i] = "\n".join(t for t, _ in lines)
            out[i] = lines
    return out


def _docx_rows(table) -> list[str]:
    """A Word table's rows, one line each with cells apart (a merged cell once)."""
    out = []
    for row in table.rows:
        cells, seen = [], set()
        for c in row.cells:
            if id(c._tc) not in seen:
                seen.add(id(c._tc))
                cells.append(c.text)
        out.append(format_row(cells))
    return out


def _load_docx(data: bytes, name: str) -> LoadedDocument:
    import io

    import docx  # python-docx

    try:
        d = docx.Document(io.BytesIO(data))
    except Exception:
        if data[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":  # an OLE container: a .doc, or a password-protected file
            raise LoadError(f"{name}: not a .docx (an old Word .doc or a password-protected document; "
                            "save it as .docx without a password)") from None
        raise LoadError(f"{name}: broken .docx (not a Word document: the file is damaged or not a .docx)") from None
    from docx.table import Table as DocxTable
    from docx.text.paragraph import Paragraph

    parts: list[str] = []
    title = None
    for child in d.element.body.iterchildren():  # paragraphs and tables in the order they stand
        if child.tag.endswith("}tbl"):
            parts.append("\n".join(_docx_rows(DocxTable(child, d))))
            continue
        if not child.tag.endswith("}p"):
            continue
        para = Paragraph(child, d)
        t = para.text
        style = (para.style.name or "").lower() if para.style is not None else ""
        if title is None and t.strip() and (style.startswith("heading") or style == "title"):
            title = t.strip()
        if style.startswith("list"):
            t = "- " + t
        parts.append(t)
    text, _ = assemble(["\n\n".join(parts)], False)
    try:
        core_title = d.core_properties.title
    except Exception:
        core_title = None
    core = None if junk_metadata_title(core_title) else core_title
    return LoadedDocument(text, None, title or core or _first_line_title(text))


def load_document(path: Path, data: bytes | None = None) -> LoadedDocument:
    """Read one file into canonical text; raise LoadError with the file and reason if it fails."""
    name = str(path)
    ext = path.suffix.lower()
    if ext not in SUPPORTED_EXTS:
        raise LoadError(f"{name}: unsupported file type '{ext or '(none)'}'")
    if data is None:
        data = read_bytes(path)
    if not data.strip():
        raise LoadError(f"{name}: empty file")
    if ext == ".pdf":
        doc = _load_pdf(data, name)
    elif ext == ".docx":
        doc = _load_docx(data, name)
    elif ext in HTML_EXTS:
        doc = _load_html(data, name)
    elif ext in MD_EXTS:
        doc = _load_markdown(data, name)
    else:
        doc = _load_text(data, name)
    if not doc.text.strip():
        raise LoadError(f"{name}: no text found")
    return doc


def _check_regular(path: Path) -> int:
    """The size of a regular file; a LoadError for FIFOs, sockets, devices (reading them could hang)."""
    st = path.stat()
    if stat.S_ISDIR(st.st_mode):
        raise IsADirectoryError(str(path))
    if not stat.S_ISREG(st.st_mode):
        raise LoadError(f"{path}: not a regular file")
    if st.st_size > MAX_BYTES:
        raise LoadError(f"{path}: file too large ({st.st_size // (1024 * 1024)} MB; at most {MAX_BYTES // (1024 * 1024)} MB)")
    return st.st_size


@contextmanager
def _reading(path: Path) -> Iterator[None]:
    """Turn OS errors while reading a file into one-line LoadErrors that name it."""
    try:
        yield
    except FileNotFoundError:
        raise LoadError(f"{path}: file disappeared during the run") from None
    except PermissionError:
        raise LoadError(f"{path}: permission denied (unreadable file)") from None
    except IsADirectoryError:
        raise LoadError(f"{path}: is a directory") from None
    except OSError as exc:
        raise LoadError(f"{path}: cannot read ({exc.strerror or exc})") from None


def read_bytes(path: Path) -> bytes:
    """A file's bytes, or a LoadError naming it and saying why not."""
    with _reading(path):
        _check_regular(path)
        return path.read_bytes()


def hash_file(path: Path, extra: bytes = b"", block: int = 1 << 20) -> str:
    """sha256 of a file's bytes followed by `extra`, read in blocks (same as file_hash(data, extra))."""
    h = hashlib.sha256()
    with _reading(path):
        _check_regular(path)
        with open(path, "rb") as fh:
            while chunk := fh.read(block):
                h.update(chunk)
    h.update(extra)
    return h.hexdigest()
