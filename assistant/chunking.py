"""Sentence spans and paragraph-aware chunks that keep exact character offsets."""

from __future__ import annotations

import re
from dataclasses import dataclass

from .loading import page_at

TARGET_WORDS = 180
MAX_WORDS = 250
MIN_WORDS = 100
OVERLAP_MAX_WORDS = 40

# Abbreviations after which a full stop does not end a sentence (da, sv, en).
ABBREVIATIONS = frozenset(
    "jf bl.a f.eks ca kr mio mia nr j.nr tlf tel tfn fax mobil dvs pga mht vedr evt inkl ekskl osv "
    "m.m m.fl t.ex s.k o.s.v resp enl p.g.a bl.a. fr.o.m t.o.m st kl dir e.g i.e etc mr mrs "
    "dr prof vs no fig jan feb mar apr jun jul aug sep sept okt oct nov dec stk pkt iflg "
    "ang sek ff adr".split()
)
_BULLET = re.compile(r"^\s*(?:[-–•*▪●◦]|\d{1,3}[.)]\s)")
_SENT_END = re.compile(r"[.!?…]+[\"”»’')\]]*(?=\s+)")
_NEXT_START = re.compile(r"\s+[\"“„«(\[]?[A-ZÆØÅÄÖÜÉ0-9§•–-]")


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
    """Paragraph or list-line spans as (start, end, starts_block), line wraps joined."""
    out: list[tuple[int, int, bool]] = []
    for block in re.finditer(r"(?:[^\n]|\n(?![ \t]*\n))+", text):
        bstart = block.start()
        lines: list[tuple[int, int]] = []
        pos = bstart
        for line in block.group(0).split("\n"):
            lines.append((pos, pos + len(line)))
            pos += len(line) + 1
        longest = max((e - s for s, e in lines), default=0)
        seg_start = None
        first = True
        for i, (s, e) in enumerate(lines):
            line = text[s:e]
            if not line.strip():
                continue
            if seg_start is None:
                seg_start = s
            nxt = text[lines[i + 1][0] : lines[i + 1][1]] if i + 1 < len(lines) else None
            stripped = line.rstrip()
            boundary = (
                nxt is None
                or _BULLET.match(nxt) is not None
                or stripped.endswith((".", "!", "?", ":", ";", "•"))
                or len(stripped) < 0.6 * longest
                or _BULLET.match(line) is not None and len(stripped) < 0.9 * longest
            )
            if boundary:
                out.append((seg_start, e, first))
                first = False
                seg_start = None
    return out


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
