"""Tables in documents: found on PDF pages, written one row a line with cells apart, and read back with headers.

In the canonical text a table row is one line whose cells are separated by CELL_SEP ("Serviceniveau for 2026 |
Borgervelfærd | November"), so a row can be quoted exactly and each of its cells matched to its column. The
header of a row's cells is the first row of its table: the run of row lines with as many cells, which may go
on over a page break (a running header or footer in between) — nothing but the text is needed to find it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

CELL_SEP = " | "
_ROW = re.compile(r"[^\n|]*\S[^\n|]* \|(?: [^\n|]*)?(?: \| [^\n|]*)*")
PAGE_GAP_LINES = 4  # lines (running header, footer) a table may go on across at a page break
GAP_FACTOR = 1.2  # an unruled table's columns are apart by more than this many times the font size
MIN_ROWS = 3  # an unruled table has at least this many lines of aligned cells
MAX_CELL_WORDS = 6  # ... and two-cell lines of longer cells are two columns of prose, not a table


@dataclass
class Table:
    """A table found on a page: its top and bottom (PDF points from the top) and its rows of cell texts."""

    top: float
    bottom: float
    rows: list[list[str]]


def format_row(cells: list[str]) -> str:
    """One line for a table row: each cell's text on one line, cells apart by CELL_SEP."""
    return CELL_SEP.join(" ".join(c.replace("|", "/").split()) for c in cells)


def row_cells(line: str) -> list[tuple[int, int]] | None:
    """The spans of a row line's cells (offsets within the line, cell text stripped), or None when it is no row."""
    if CELL_SEP.strip() not in line or not _ROW.fullmatch(line.strip()):
        return None
    spans = []
    pos = 0
    for part in line.split("|"):
        lead = len(part) - len(part.lstrip())
        spans.append((pos + lead, pos + lead + len(part.strip())))
        pos += len(part) + 1
    return spans


def _lines(text: str, pos: int, step: int):
    """Lines from the one holding pos, backwards (step -1) or forwards, as (start, end)."""
    start = text.rfind("\n", 0, pos) + 1
    end = text.find("\n", pos)
    end = len(text) if end < 0 else end
    while True:
        yield start, end
        if step < 0:
            if start == 0:
                return
            end = start - 1
            start = text.rfind("\n", 0, end) + 1
        else:
            if end >= len(text):
                return
            start = end + 1
            end = text.find("\n", start)
            end = len(text) if end < 0 else end


def row_header(text: str, pos: int) -> list[str] | None:
    """The header cells of the table row holding offset pos: its table's first row; None if no row or no header.

    The table is the run of row lines with as many cells above it; blank lines and up to PAGE_GAP_LINES other
    lines (a page's running header and footer) may come between two of its rows. A first row with a cell that
    is a number (other than a year) is data, not a header.
    """
    lines = _lines(text, pos, -1)
    start, end = next(lines)
    cells = row_cells(text[start:end])
    if cells is None:
        return None
    n = len(cells)
    first = (start, end)
    between, blank = 0, False  # non-row lines since the last row found, and whether a page break is among them
    for s, e in lines:
        line = text[s:e]
        if not line.strip():
            blank = True
            continue
        other = row_cells(line)
        if other is not None and len(other) == n and (not between or blank):
            first, between, blank = (s, e), 0, False
        elif other is None and between < PAGE_GAP_LINES:
            between += 1
        else:
            break
    head = text[first[0] : first[1]]
    names = [head[a:b] for a, b in row_cells(head) or []]
    if any(re.fullmatch(r"[\d.,:%\s/–-]+(?:kr\.?|mio\.?)?", c) and not re.fullmatch(r"(?:19|20)\d\d", c) for c in names if c):
        return None  # a number is data; a year heads a column ("Projekt | 2026 | 2027")
    return names


# --- PDF pages ---------------------------------------------------------------------------------


def page_tables(page) -> list[Table]:
    """The tables on a pdfplumber page: ruled ones by their lines, unruled ones by columns of aligned words."""
    found: list[Table] = []
    try:
        ruled = page.find_tables()
    except Exception:  # pdfplumber can trip over odd drawings; a page without tables still reads
        ruled = []
    for t in ruled:
        rows = [[c or "" for c in row] for row in t.extract()]
        rows = [r for r in rows if any(c.strip() for c in r)]
        if len(rows) >= 2 and max(len(r) for r in rows) >= 2:
            found.append(Table(t.bbox[1], t.bbox[3], rows))
    found += [t for t in _unruled(page) if not any(t.top < f.bottom and f.top < t.bottom for f in found)]
    return sorted(found, key=lambda t: t.top)


def _unruled(page) -> list[Table]:
    """Tables without vertical rules: runs of at least MIN_ROWS lines whose words fall in the same columns."""
    try:
        words = page.extract_words(keep_blank_chars=False, use_text_flow=False, extra_attrs=["size"])
    except Exception:
        return []
    lines: list[list[dict]] = []
    for w in sorted(words, key=lambda w: (round(w["top"]), w["x0"])):
        if lines and abs(lines[-1][0]["top"] - w["top"]) < 2:
            lines[-1].append(w)
        else:
            lines.append([w])
    parsed = []  # per line: (top, bottom, [(x0, x1, text)])
    for ln in lines:
        ln.sort(key=lambda w: w["x0"])
        cells: list[list] = []
        for w in ln:
            if cells and w["x0"] - cells[-1][1] <= GAP_FACTOR * w.get("size", 10):
                cells[-1][1] = w["x1"]
                cells[-1][2] += " " + w["text"]
            else:
                cells.append([w["x0"], w["x1"], w["text"]])
        parsed.append((min(w["top"] for w in ln), max(w["bottom"] for w in ln), cells))
    tables: list[Table] = []
    i = 0
    while i < len(parsed):
        j = i + 1
        cols = parsed[i][2]
        while j < len(parsed) and len(cols) >= 2 and _aligned(cols, parsed[j][2]):
            j += 1
        run = parsed[i:j]
        long_cells = sum(len(c[2].split()) > MAX_CELL_WORDS for _, _, cs in run for c in cs)
        if j - i >= MIN_ROWS and (len(cols) >= 3 or not long_cells) and long_cells <= (j - i) * len(cols) // 3:
            tables.append(Table(run[0][0], run[-1][1], [[c[2] for c in cs] for _, _, cs in run]))
            i = j
        else:
            i += 1
    return tables


def _aligned(cols: list, cells: list) -> bool:
    """Whether a line's cells fall one by one into the columns of the line above (their spans overlap)."""
    return len(cells) == len(cols) and all(c[0] < k[1] + 2 and k[0] < c[1] + 2 for c, k in zip(cells, cols))
