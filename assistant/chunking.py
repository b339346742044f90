"""Sentence spans and paragraph-aware chunks that keep exact character offsets."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .loading import page_at
from .tables import CELL_SEP, row_cells

TARGET_WORDS = 180
MAX_WORDS = 250
MIN_WORDS = 100
OVERLAP_MAX_WORDS = 40
CONTEXT_CHARS = 20_000  # how far whole_sentences and starts_mid_sentence look for a paragraph's edges

# Abbreviations after which a full stop does not end a sentence (da, sv, en).
ABBREVIATIONS = frozenset(
    "jf bl.a f.eks ca kr mio mia nr j.nr tlf tel tfn fax mobil dvs pga mht vedr evt inkl ekskl osv "
    "m.m m.fl t.ex s.k o.s.v resp enl p.g.a bl.a. fr.o.m t.o.m st kl dir e.g i.e etc mr mrs "
    "dr prof vs no fig jan feb mar apr jun jul aug sep sept okt oct nov dec stk pkt iflg "
    "ang sek ff adr jfr jvf ift iht hhv vha kap afsn bek prop dnr".split()
)
_BULLET = re.compile(r"^\s*(?:[•*▪●◦]|[-–](?=\s)|\d{1,3}[.)]\s)")  # "- " and "– ", not a dash joined to a word
_SENT_END = re.compile(r"[.!?…]+[\"”»’')\]]*(?=\s+)")
_NEXT_START = re.compile(r"\s+[\"“”„«»(\[]?[A-ZÆØÅÄÖÜÉ0-9§•–-]")
_LINE_START = re.compile(r"[ \t]*[\"“”„«»(\[]?[A-ZÆØÅÄÖÜÉ0-9§•–-]")  # a line that may begin a sentence
_LINE_END = re.compile(r"[.!?…]+[\"”»’')\]]*$")
_BLANK = re.compile(r"\n[ \t]*\n")
_FIELD = re.compile(r"[ \t]*[A-ZÆØÅÄÖÜ][\w/.()-]*(?: [\w/.()-]+){0,2}: \S")  # "Dato: 16. december 2008", "SFS: 2020:1225"


@dataclass(frozen=True)
class Chunk:
    """A run of whole sentences: its offsets in the canonical text, its page(s) and text."""

    seq: int
    start: int
    end: int
    page: int | None
    page_end: int | None
    text: str


def _segments(text: str) -> list[tuple[int, int, bool]]:
    """Paragraph or list-line spans as (start, end, starts_block), line wraps joined.

    A line break ends a segment only before a list bullet or a "Label: value" line, around a table row, after a line
    ending in ':' or ';' (or a PDF's '•') when the next line begins like a sentence, or after a
    heading or label line: a short line that itself begins a sentence, followed by a line that
    begins like one. A short line in the middle of a sentence ("… i 2009. Folketingets" +
    "ombudsmand, der …") does not end one. Sentence-final punctuation at a line end is left to
    sentence_spans, which knows abbreviations ("100 mio." + "kr. om året").
    """
    out: list[tuple[int, int, bool]] = []
    for block in re.finditer(r"(?:[^\n]|\n(?![ \t]*\n))+", text):
        bstart = block.start()
        lines: list[tuple[int, int]] = []
        pos = bstart
        for line in block.group(0).split("\n"):
            if line.strip():  # a blank last line (the text's final newline) neither opens nor ends anything
                lines.append((pos, pos + len(line)))
            pos += len(line) + 1
        longest = max((e - s for s, e in lines), default=0)
        seg_start = None
        first = True
        at_start = True  # the line begins a sentence: the block's first, or after a boundary or a sentence end
        for i, (s, e) in enumerate(lines):
            line = text[s:e]
            if not line.strip():
                continue
            if seg_start is None:
                seg_start = s
            nxt = text[lines[i + 1][0] : lines[i + 1][1]] if i + 1 < len(lines) else None
            stripped = line.rstrip()
            opens = nxt is not None and _LINE_START.match(nxt) is not None
            boundary = (
                nxt is None
                or _is_row(line) or _is_row(nxt)  # a table row is a line of its own
                or _BULLET.match(nxt) is not None
                or _FIELD.match(nxt) is not None
                or stripped.endswith("•")
                or opens and stripped.endswith((":", ";"))
                or opens and at_start and len(stripped) < 0.6 * longest and _heading_like(text, s, s + len(stripped))
                or opens and _BULLET.match(line) is not None and len(stripped) < 0.9 * longest
            )
            if boundary:
                out.append((seg_start, e, first))
                first = False
                seg_start = None
            at_start = boundary or _ends_sentence(text, s + len(stripped))
    return out


def _is_row(line: str) -> bool:
    """Whether a line is a table row (cells apart by ' | '), which is one unit: quoted whole, never split."""
    return CELL_SEP.strip() in line and row_cells(line) is not None


def _heading_like(text: str, start: int, end: int) -> bool:
    """Whether a short line can be a heading or label: no comma at its end, no sentence ending inside it."""
    if text[end - 1] == ",":
        return False
    for m in _SENT_END.finditer(text, start, end):
        if _NEXT_START.match(text, m.end(), end) and not (
            text[m.start()] == "." and m.end() - m.start() == 1 and _is_abbreviation(text, m.start())
        ):
            return False  # "… i 2009. Folketingets" ends a sentence and begins the next
    return True


def _ends_sentence(text: str, end: int) -> bool:
    """Whether text[:end] ends with sentence-final punctuation (a full stop not of an abbreviation)."""
    m = _LINE_END.search(text, max(0, end - 8), end)
    if not m:
        return False
    return not (text[m.start()] == "." and m.end() - m.start() == 1 and _is_abbreviation(text, m.start()))


def _is_abbreviation(text: str, dot: int) -> bool:
    word = re.search(r"([^\s(]+)$", text[max(0, dot - 12) : dot])
    if not word:
        return False
    w = word.group(1).lower().rstrip(".")
    if w in ABBREVIATIONS or (len(w) == 1 and w.isalpha()):
        return True
    return bool(re.fullmatch(r"\d{1,2}", w)) and bool(re.match(r"\s+[a-zæøåäö]", text[dot + 1 : dot + 4]))


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentence (and list line) spans in text[start:end], trimmed, as absolute offsets."""
    end = len(text) if end is None else end
    spans: list[tuple[int, int]] = []
    sub = text[start:end]
    for s, e, _ in _segments(sub):
        cur = s
        if _is_row(sub[s:e]):  # "Budgetopfølgning pr. 30. september | Sekretariatet | November" is one row
            spans.append((s, e))
            continue
        for m in _SENT_END.finditer(sub, s, e):
            stop = m.end()
            if not _NEXT_START.match(sub, stop):
                continue
            if sub[m.start()] == "." and m.end() - m.start() == 1 and _is_abbreviation(sub, m.start()):
                continue
            spans.append((cur, stop))
            cur = stop
        spans.append((cur, e))
    out = []
    for s, e in spans:
        seg = sub[s:e]
        lead = len(seg) - len(seg.lstrip())
        trail = len(seg) - len(seg.rstrip())
        if e - trail > s + lead:
            out.append((start + s + lead, start + e - trail))
    return out


def _paragraph_start(text: str, pos: int) -> int:
    """Where the paragraph (run of non-blank lines) holding offset pos begins, at most CONTEXT_CHARS back."""
    floor = max(0, pos - CONTEXT_CHARS)
    ls = text.rfind("\n", 0, pos) + 1
    while ls > floor:
        prev = text.rfind("\n", 0, ls - 1) + 1
        if not text[prev : ls - 1].strip() or prev < floor:
            break
        ls = prev
    return ls


def _paragraph_end(text: str, pos: int) -> int:
    """Where the paragraph holding offset pos ends (before the next blank line), at most CONTEXT_CHARS on."""
    m = _BLANK.search(text, pos, pos + CONTEXT_CHARS)
    if m:
        return m.start()
    if pos + CONTEXT_CHARS >= len(text):
        return len(text)
    nl = text.rfind("\n", pos, pos + CONTEXT_CHARS)
    return nl if nl > pos else pos + CONTEXT_CHARS


def whole_sentences(text: str, start: int, end: int) -> list[tuple[int, int]]:
    """The sentences wholly inside text[start:end], split as in the whole text (absolute offsets).

    For a chunk, pass its document's canonical text and the chunk's offsets: a chunk that starts or
    ends inside a sentence (a window of an over-long one) drops that fragment, and a short first line
    splits as it does in the document, not as a heading of the chunk (`sentence_spans(chunk.text)`
    cannot tell "… i 2009. Folketingets" cut to "Folketingets" from a heading line).
    """
    a, b = _paragraph_start(text, start), _paragraph_end(text, max(start, end - 1))
    return [(s, e) for s, e in sentence_spans(text, a, b) if s >= start and e <= end]


def starts_mid_sentence(text_before: str, text: str | None = None) -> bool:
    """Whether text that follows text_before begins inside a sentence rather than at a sentence start.

    A sentence starts after sentence-final punctuation (not an abbreviation's full stop), a blank line,
    at a list bullet, or after a heading or label line. Without `text` the follower is taken to begin
    with a capital; with it (a chunk's text), lower-case and bullet starts are judged as they are.
    """
    if not text_before.strip():
        return False
    follow = "A" if text is None else text[: _paragraph_end(text, 0)]
    para = text_before[_paragraph_start(text_before, len(text_before)) :]
    lead = len(follow) - len(follow.lstrip())
    if not follow.strip() or not para.strip() or _BLANK.search(para + follow[:lead]):
        return False  # nothing to follow, or a blank line before it
    at = len(para) + lead
    return not any(s == at for s, _ in sentence_spans(para + follow))


def _words(text: str) -> int:
    return len(text.split())


def chunk_text(text: str, page_starts: list[int] | None = None) -> list[Chunk]:
    """Split canonical text into chunks of about 100–250 words along sentence boundaries."""
    sents = sentence_spans(text)
    block_starts = {s for s, _, first in _segments(text) if first}
    # Split over-long sentences into word windows so no chunk exceeds MAX_WORDS.
    units: list[tuple[int, int, bool]] = []
    for s, e in sents:
        para = s in block_starts
        if _words(text[s:e]) <= MAX_WORDS:
            units.append((s, e, para))
            continue
        words = list(re.finditer(r"\S+", text[s:e]))
        for i in range(0, len(words), TARGET_WORDS):
            w = words[i : i + TARGET_WORDS]
            units.append((s + w[0].start(), s + w[-1].end(), para and i == 0))
    chunks: list[Chunk] = []
    i = 0
    while i < len(units):
        j = i
        words = 0
        while j < len(units):
            n = _words(text[units[j][0] : units[j][1]])
            if j > i and words + n > MAX_WORDS:
                break
            if j > i and words >= TARGET_WORDS:
                break
            if j > i and units[j][2] and words >= MIN_WORDS:
                break  # a new paragraph begins and the chunk is big enough
            words += n
            j += 1
        s, e = units[i][0], units[j - 1][1]
        chunks.append(
            Chunk(len(chunks), s, e, page_at(page_starts, s), page_at(page_starts, e - 1), text[s:e])
        )
        if j >= len(units):
            break
        # Overlap: start the next chunk with the last sentence if it is short.
        last = units[j - 1]
        if j - 1 > i and _words(text[last[0] : last[1]]) <= OVERLAP_MAX_WORDS and not units[j][2]:
            i = j - 1
        else:
            i = j
    return chunks
