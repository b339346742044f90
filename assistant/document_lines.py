"""Lines of a document's own structure that answer questions: its signature, its byline, its header fields."""

from __future__ import annotations

import re

SIGNATURE_LINES = 8  # a letter's signature is looked for among its last lines
BYLINE_LINES = 12  # a talk's or report's byline ("Ved Charlotte Markussen") among its first lines
HEADER_LINES = 20  # "Label: value" lines atop a letter or circular, among its first lines

# a short label, a colon, a value: "Cirkulärnr: 1997:145", "Handläggare: Karl-Axel Johansson", "Dato: 16. december 2008"
_HEADER_FIELD = re.compile(r"[^\W\d_][\w./-]*(?: [\w./-]+){0,2}:\s*\S.{0,80}")
_CLOSING = re.compile(
    r"(med )?(venlig(st)?|venlige|vänlig|vänliga) (hilsen|hilsner|hälsning|hälsningar)\b|(kind|best) regards\b|"
    r"yours (sincerely|faithfully)\b|hälsningar\b", re.I)
_NAME_WORD = r"[A-ZÆØÅÄÖ][a-zæøåäöéü]+(?:-[A-ZÆØÅÄÖ][a-zæøåäöéü]+)?"
_NAME_LINE = re.compile(rf"{_NAME_WORD}(?: [A-ZÆØÅÄÖ]\.)?(?: (?:af |von |van |de )?{_NAME_WORD}){{1,3}}")


_BYLINE = re.compile(rf"(?:ved|af|av|by) ({_NAME_LINE.pattern})", re.I)


def _lines(text: str) -> list[tuple[int, int, str]]:
    """The text's non-blank lines as (start, end, stripped text), offsets of the stripped line."""
    out = []
    for m in re.finditer(r"[^\n]*\S[^\n]*", text):
        g = m.group(0)
        out.append((m.start() + len(g) - len(g.lstrip()), m.start() + len(g.rstrip()), g.strip()))
    return out


def signature_block(text: str) -> tuple[int, int] | None:
    """The span of a letter's signature at the end of its text: the signers' names and the office above them."""
    lines = _lines(text[-4000:])
    offset = max(0, len(text) - 4000)
    lines = [(a + offset, b + offset, t) for a, b, t in lines[-SIGNATURE_LINES:]]
    closing = max((i for i, ln in enumerate(lines) if _CLOSING.match(ln[2])), default=None)
    if closing is not None:
        block = lines[closing + 1 :]
    else:  # no closing words: a run of short lines under the sender's name in capitals ("SVENSKA KOMMUNFÖRBUNDET")
        i = len(lines)
        while i > 0 and len(lines[i - 1][2].split()) <= 5 and not re.search(r"[.:;,]$|\d", lines[i - 1][2]):
            i -= 1
        block = lines[i:]
        if not any(ln[2].isupper() and len(ln[2]) > 3 for ln in block):
            return None
    names = [ln for ln in block if _NAME_LINE.fullmatch(ln[2])]
    return (block[0][0], names[-1][1]) if names else None


def byline_block(text: str) -> tuple[int, int] | None:
    """The span of a byline near the top of a talk or report ("Ved Charlotte Markussen", then the title under it)."""
    lines = _lines(text[:4000])[:BYLINE_LINES]
    for i, (start, end, line) in enumerate(lines):
        if _BYLINE.fullmatch(line):
            nxt = lines[i + 1] if i + 1 < len(lines) else None
            if nxt and len(nxt[2].split()) <= 3 and nxt[2][0].isupper() and not re.search(r"[.:;,\d]", nxt[2]):
                end = nxt[1]  # the title under the name: "Vicesocialdirektør"
            return start, end
    return None


def header_fields(text: str) -> list[tuple[int, int]]:
    """The spans of "Label: value" lines among a document's first lines ("Cirkulärnr: 1997:145", "Dato: 16. december 2008")."""
    return [(start, end) for start, end, line in _lines(text[:4000])[:HEADER_LINES] if _HEADER_FIELD.fullmatch(line)]


# a labelled line anywhere: a label of one to four words, a colon, a short value ("Stillet af: Gert Bjerregaard (V)")
_LABELLED = re.compile(r"([^\W\d_][\w.()/-]*(?: [\w.()/-]+){0,3}):[ \t]+(\S.{0,119})")
SECTION_LINES = 8  # how far above a labelled line its section heading is looked for


def label_of(line: str) -> tuple[str, str] | None:
    """A short "Label: value" line's label and value, or None ("Beslutning: Godkendt." → ("Beslutning", "Godkendt."))."""
    m = _LABELLED.fullmatch(line.strip())
    if not m or "|" in line or m.group(2).count(". ") > 1:
        return None
    return m.group(1), m.group(2)


def labelled_lines(text: str) -> list[tuple[int, int, str]]:
    """Every short "Label: value" line of a text, wherever it stands, as (start, end, label)."""
    out = []
    for start, end, line in _lines(text):
        lv = label_of(line)
        if lv:
            out.append((start, end, lv[0]))
    return out


def section_heading(text: str, start: int) -> str:
    """The lines above a line up to its section's heading (a short line without closing punctuation), within reach."""
    above = text[max(0, start - 1500) : start].split("\n")[:-1]
    out: list[str] = []
    for line in reversed(above[-SECTION_LINES:]):
        s = line.strip()
        if not s:
            break  # a paragraph or page break
        out.append(s)
        if len(s.split()) <= 10 and not re.search(r"[.,;:]$", s) and label_of(s) is None or re.match(r"(punkt|pkt|item|§)\s*\d", s, re.I):
            break
    return "\n".join(reversed(out))
