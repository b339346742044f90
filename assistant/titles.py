"""A document's title as a person would give it: not a file name, a "Til:" line or an address."""

from __future__ import annotations

import re
from collections import Counter

MAX_TITLE_CHARS = 200
LARGER = 1.15  # a heading's type is at least this much larger than the page's body text
REPEATED_TOP_LINES = 3  # a running header is among a page's first lines

# Metadata titles that word processors and converters write on their own
_JUNK_TITLE = re.compile(
    r"^(?:microsoft (?:word|excel|powerpoint)\b.*|untitled\b.*|unavngivet.*|namnlös.*|uden titel|utan titel|"
    r"dokument\s*\d*|document\s*\d*|slide\s*\d*|title|titel|rapport\d*|.*\.(?:docx?|pdf|odt|rtf|txt|xlsx?|pptx?|indd))$",
    re.I)
# A letter's routing lines and addresses: "Til: Udvalget …", "Att.: …", "Torvegade 12", "4000 Nordby"
_ROUTING = re.compile(r"^(?:til|fra|to|from|att|cc|kopi|kopia|mottagare|modtager|dato|datum|date|j\.?\s?nr|sag|ref)\b\.?\s*:",
                      re.I)
_ADDRESS = re.compile(
    r"^(?:[\w.'-]+ ){0,3}[\w.'-]*(?:vej|gade|vænge|allé|alle|plads|torv|stræde|gatan|vägen|väg|gata|torget|plan|"
    r"boks|box)\s+\d{1,3}[a-zA-Z]?(?![\d-])\b.{0,20}$|^(?:DK-|SE-|S-)?\d{3} ?\d{1,2} [A-ZÆØÅÄÖ]\w+|^\d{4} [A-ZÆØÅ]\w+", re.I)


def junk_metadata_title(title: str | None) -> bool:
    """Whether a file's own metadata title says nothing: empty, a converter's default, a file name."""
    t = " ".join((title or "").split())
    return len(t) < 4 or not re.search(r"[^\W\d_]{3}", t) or _JUNK_TITLE.match(t) is not None


def title_line(line: str) -> bool:
    """Whether a line can be a title: words, not a routing line ("Til: …"), an address, a page number or a date."""
    s = " ".join(line.split())
    return (3 <= len(s) <= MAX_TITLE_CHARS and re.search(r"[^\W\d_]{3}", s) is not None
            and not _ROUTING.match(s) and not _ADDRESS.match(s)
            and not re.fullmatch(r"(?:side|sida|page)\s*\d+(?:\s*(?:af|av|of|/)\s*\d+)?", s, re.I))


def largest_text(lines: list[tuple[str, float]]) -> str | None:
    """The first heading of a page: its lines in the largest type, when that is larger than the body text.

    `lines` are a page's lines in reading order with their type size. Consecutive lines of that size are one
    title ("Referat af byrådsmøde" + "28. oktober 2025").
    """
    sized = [(" ".join(t.split()), s) for t, s in lines if t.strip()]
    if len(sized) < 2:
        return None
    body = Counter(round(s, 1) for t, s in sized for _ in t.split()).most_common(1)[0][0]
    big = max(s for _, s in sized)
    if big < body * LARGER:
        return None
    out: list[str] = []
    for t, s in sized:
        if abs(s - big) < 0.5 and title_line(t):
            out.append(t)
        elif out:
            break
    title = " ".join(out)
    return title[:MAX_TITLE_CHARS] if title else None


def repeated_header(pages: list[str]) -> str | None:
    """A line among the first lines of most pages (a running header naming the document), before boilerplate goes."""
    if len(pages) < 2:
        return None
    tops = [[" ".join(ln.split()) for ln in p.split("\n") if ln.strip()][:REPEATED_TOP_LINES] for p in pages]
    counts = Counter(ln for top in tops for ln in set(top))
    for ln in tops[0]:
        if counts[ln] >= max(2, len(pages) // 2 + 1) and title_line(ln) and not re.search(r"\d+\s*(?:af|av|of|/)\s*\d+", ln):
            return ln
    return None


def first_title_line(text: str) -> str | None:
    """The first line of a text that can be a title (not "Til: …", an address or a page number)."""
    for line in text.split("\n"):
        s = line.strip().lstrip("#").strip()[:MAX_TITLE_CHARS]  # a long first line is cut, as it always was
        if s and title_line(s):
            return s
    return None
