"""The kind of answer a question asks for, what satisfies it, and the years and numbers it pins down."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import lru_cache

from .language import YEAR, raw_tokens, years_covered
from .stores import ChunkRecord

_NUMBER = re.compile(r"\d+(?:[.,:/-]\d+)*")

_TYPE_CUES: dict[str, re.Pattern] = {
    "quantity": re.compile(
        r"\b(hvor (meget|mange|stor|store)|hur (mycket|många|stor|stort|stora)|how (much|many|large|big)|"
        r"beløb\w*|belopp\w*|amount|andel\w*|procent|percent|antal\w*|"
        r"hvad koste[rt]?|vad kosta[rdt]?|what does \w+(?: \w+){0,4} cost|how much does|pris(?:en)? på|priset på|price of)\b",
        re.I),
    "date": re.compile(
        r"\b(hvornår|när|when|dato|datum|date[ds]?|hvilket år|vilket år|what year|which year|senest|frist|deadline)\b", re.I),
    "person": re.compile(
        r"\b(hvem|vem|who|whom|kontaktperson\w*|sagsbehandler\w*|handläggare\w*|underskrevet|undertecknat|"
        r"skrivit under|signed|minister)\b", re.I),
    "organisation": re.compile(
        r"\b(hvilke organisationer|vilka organisationer|which organi[sz]ations|står bag|står bakom|aktører|aktörer|"
        r"hvilken kommune|vilken kommun|which municipality|leverandør\w*|hvem sad|vem satt)\b", re.I),
    "identifier": re.compile(
        r"(journalnummer\w*|j\.nr|diarienummer\w*|diarienr|dnr|cirkulærnummer\w*|cirkulärnummer\w*|cirkulärnr|"
        r"\bnumber\b|\bnummer\b|\bnr\b|reference)", re.I),
    "phone": re.compile(r"(telefon\w*|\btlf\b|\btel\b|\bphone\b|\bringe\b|\bringa\b|\bcall\b)", re.I),
    "duration": re.compile(r"\b(hvor længe|hur länge|how long|varighed|varaktighet)\b", re.I),
}
_NUMBER_WORDS = (
    r"(tre|fire|fem|seks|syv|otte|ti|elleve|tolv|tretten|fjorten|femten|seksten|sytten|atten|nitten|tyve"
    r"|två|fyra|sex|sju|åtta|nio|tio|elva|tretton|fjorton|femton|sexton|sjutton|arton|nitton|tjugo"
    r"|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen"
    r"|eighteen|nineteen|twenty)"
)
_NUMBER_WORD = re.compile(_NUMBER_WORDS + r"\b", re.I)
_SATISFIES: dict[str, re.Pattern] = {
    "quantity": re.compile(
        r"\d[\d.,]*\s*(mio|mia|millioner|miljoner|million|kr|kroner|kronor|procent|%)"
        r"|\b\d[\d.,]*\s+(?!(?:jan|feb|mar|apr|maj|maj|jun|jul|aug|sep|okt|oct|nov|dec)[a-z]*\b)(?-i:[a-zæøåäö]{3,})"
        r"|\b(halvdel\w*|hälften|half|tredjedel\w*|fjerdedel\w*|flertal\w*)\b"
        r"|\b" + _NUMBER_WORDS + r"\s+(?-i:[a-zæøåäö]{3,})", re.I),
    "date": re.compile(
        r"\b\d{4}-\d\d-\d\d\b|\b\d{1,2}\.? (januar|februar|marts|april|maj|juni|juli|august|september|oktober|"
        r"november|december|januari|februari|mars|augusti)\b|\b(1[89]|20)\d\d\b"
        r"|\b\d{3,4}(?:['’]?(?:ernes|erne|s)|-?tall?ets?)\b", re.I),  # "1930'erne", "900-tallet", "1990-talet"
    "person": re.compile(r"\b[A-ZÆØÅÄÖ][a-zæøåäöé]+(?:-[A-ZÆØÅÄÖ][a-zæøåäöé]+)? [A-ZÆØÅÄÖ][a-zæøåäöé]+"),
    "organisation": re.compile(r"(?<=[a-zæøåäö,] )[A-ZÆØÅÄÖ][A-Za-zæøåäöÆØÅÄÖ-]{3,}|\b[A-ZÆØÅ]{2,}\b"),
    # "2008-1550", "1997:145", "S2025/00866" (a diary number's letter prefix), "2023/24:29"
    "identifier": re.compile(r"(?<![\w/])[A-ZÅÄÖ]{0,3}[a-zåäö]{0,2}(?:19|20)\d\d[-:/]\d+\b|\b\d+[:/]\d+\b"),
    "phone": re.compile(r"\b\d{2}[ -]?\d{2} ?\d{2} ?\d{2}\b|\b0\d{1,3}-\d{2,3}[ ]?\d{2}[ ]?\d{2}\b"),
    "duration": re.compile(
        r"\b(\d+|en|et|to|tre|fire|fem|seks|ett|två|fyra|sex|one|two|three|four|five|six)\s+"
        r"(år|måneder|månader|uger|veckor|years?|months?|weeks?)\b", re.I),
}


# "how many" of something other than money ("Hvor mange penge/midler/tusind kroner" asks for an amount,
# "hvor mange frivillige" for a count)
_COUNT = re.compile(r"\b(hvor mange|hur många|how many)\b", re.I)
_MONEY_WORD = re.compile(
    r"\b(penge|pengar|money|midler|medel|kr|kroner|kronor|krone|krona|dkk|sek|euro|eur|mio|mia|million\w*|"
    r"miljon\w*|milliard\w*|miljard\w*|tusind|tusen|thousand|beløb\w*|belopp\w*|budget\w*)\b", re.I)
_MONEY = re.compile(
    r"\d[\d.,]*\s*(mio\.?|mia\.?|millioner|miljoner|millions?|milliarder|miljarder|billions?)?\s*(kr\b|kroner|kronor|dkk|sek|euro)",
    re.I)
# a share of something: answered by a percentage or a fraction
_SHARE = re.compile(r"\b(hvor stor en del|hvor stor en andel|hvor store? andel\w*|hur stor (?:en )?andel|hur stor del|"
                    r"what (?:share|proportion|percentage|fraction)|how large a (?:share|part))\b", re.I)
_SHARE_ANSWER = re.compile(r"procent|percent|%|halvdel|hälften|half|tredjedel|fjerdedel|fjärdedel|\bkvart\b", re.I)
_PERCENT = re.compile(r"procent|percent|%", re.I)
_YEAR_RANGE = re.compile(r"\b((?:1[89]|20)\d\d)\s*(?:-|–|til|till|to)\s*((?:1[89]|20)\d\d)\b")
_YEAR_SINCE = re.compile(r"\b(?:fra|siden|efter|från|sedan|from|since|after)\s+((?:1[89]|20)\d\d)\b", re.I)




def answer_types(question: str) -> set[str]:
    """What kind of answer the question asks for: quantity, date, person, identifier, phone, duration."""
    types = {t for t, rx in _TYPE_CUES.items() if rx.search(question)}
    if "phone" in types:  # "Vilket telefonnummer har handläggaren?" asks for the number, not the person
        types -= {"identifier", "person"}
    if "duration" in types:
        types.discard("quantity")
    return types


_MONTHS = (r"januar[i]?|februar[i]?|marts|mars|april|maj|juni|juli|august[i]?|september|oktober|november|december|"
           r"jan|feb|mar|apr|jun|jul|aug|sep|sept|okt|oct|nov|dec")
# a table cell that is a date by itself: "November", "Januar 2026", "1. kvartal 2026", "Q3 2026", "uge 12"
_CELL_DATE = re.compile(rf"(?:(?:{_MONTHS})\.?(?: \d{{4}})?|\d\. ?(?:kvartal|halvår|tertial)(?: \d{{4}})?|q[1-4] \d{{4}}|"
                        rf"(?:uge|vecka|week) \d{{1,2}}(?: \d{{4}})?|(?:foråret|efteråret|våren|hösten) \d{{4}})", re.I)


def cell_satisfies(kind: str, cell: str) -> bool:
    """True when a table cell by itself is an answer of that kind that a sentence would not be ("November")."""
    return kind == "date" and _CELL_DATE.fullmatch(cell.strip()) is not None


def loosely_satisfies(kind: str, value: str) -> bool:
    """Whether a labelled line's value can be the kind of answer asked for: a name for who, a number for how much.

    Looser than satisfies: the label already says what the value is ("Godkendt af: Direktionen").
    """
    if kind in ("person", "organisation"):
        return re.search(r"\b[A-ZÆØÅÄÖ][^\W\d_]+", value) is not None
    if kind == "date":
        return bool(re.search(r"\d", value) or _CELL_DATE.search(value))
    return re.search(r"\d", value) is not None


def satisfies(kind: str, sentence: str, question: str) -> bool:
    """True when a sentence holds an answer of that kind that the question does not already give."""
    roles = _asked_roles(question) if kind == "person" else []
    if roles and not _names_role(sentence, roles):
        return False  # a person, but not said to hold the role asked about
    if kind == "person" and not roles and satisfies("organisation", sentence, question):
        return True  # "who" is often an organisation: "foretaget af Ankestyrelsen"
    q = question.lower()
    if kind == "quantity":  # a phone number is not an amount: "tel. 08-772 43 18 eller …"
        sentence = _SATISFIES["phone"].sub(" ", sentence)
    asks_count = kind == "quantity" and _COUNT.search(question) is not None
    counts = asks_count and not _MONEY_WORD.search(question)
    share = kind == "quantity" and _SHARE.search(question) is not None
    if share and _MONEY.search(question) and not _MONEY_WORD.search(sentence):
        return False  # a share "af de 100 mio. kr." is a share of money, not "halvdelen af befolkningen"
    for m in _SATISFIES[kind].finditer(sentence):
        val = m.group(0)
        if kind == "quantity":
            if share and not _SHARE_ANSWER.search(val):
                continue  # "hvor stor en del / andel" is a percentage or a fraction, not 144,7 millioner
            m_num = re.match(r"\d[\d.,]*", val)
            if m_num is None:
                if _NUMBER_WORD.match(val) and not asks_count:
                    continue  # "tre udvalgte cases" answers "hvor mange", not "hvor meget"
                return True  # "halvdelen", "tre udvalgte cases"
            num = m_num.group(0).rstrip(".,")
            if YEAR.fullmatch(num) and not re.search(r"(mio|mia|kr|procent|%)", val, re.I):
                continue  # a year is not an amount
            if num in q:
                continue
            if counts and _MONEY.match(sentence, m.start()):
                continue  # "how many people" is not answered in kroner
            if counts and _PERCENT.search(val) and not _PERCENT.search(question):
                continue  # ... nor by a percentage ("101 procent af det særlige tilskud"), unless it asks for one
        elif val.lower() in q:
            continue
        elif roles and _BODY_WORD.search(val):
            continue
        return True
    return False


_AUTHORED = re.compile(
    r"\b(underskrev\w*|underskrift\w*|undertegne\w*|underteckna\w*|skrivit|skrev|skrevet|signe[dr]\w*|signatur\w*|"
    r"wrote|written|forfatte\w*|författa\w*|author\w*|afsender\w*|avsändare\w*|sender|holdt|höll|"
    r"gave the (talk|presentation)|presented)\b", re.I)


# The labels of a letter's or circular's header fields, by what they hold, in Danish, Swedish and English
_FIELD_LABELS: dict[str, tuple[str, ...]] = {
    "officer": ("sagsbehandler", "handläggare", "handlaggare", "case officer", "caseworker", "case worker"),
    "file": ("journalnummer", "j.nr", "jnr", "diarienummer", "diarienr", "diariernr", "dnr", "file number",
             "reference number"),
    "circular": ("cirkulærenummer", "cirkulærenr", "cirkulærnr", "cirkulärnummer", "cirkulärnr",
                 "circular number", "number of the circular"),
    "unit": ("sektion", "enhed", "enhet", "afdeling", "avdelning", "kontor", "section", "unit", "department"),
    "recipient": ("modtager", "mottagare", "recipient", "addressee"),
}


# Roles only a person holds, in the three languages. "Vem var projektledare …?" is answered by a sentence that
# names the role, not by a contact person or "Svenska Kommunförbundet genomförde …". (Whom to contact is
# not such a role: "Yderligere oplysninger: Berit Steengaard Olesen" answers it without the word.)
_ROLES: dict[str, tuple[str, ...]] = {
    "officer": _FIELD_LABELS["officer"],
    "project leader": ("projektleder", "projektledare", "project leader", "project manager"),
    "chair": ("formand", "formænd", "ordförande", "chairman", "chairwoman", "chairperson"),
    "director": ("direktør", "direktör", "director"),
    "mayor": ("borgmester", "borgmästare", "mayor"),
    "press contact": ("pressekontakt", "presskontakt", "presseansvarlig", "pressansvarig", "press contact",
                      "press officer"),
}
# Two capitalised words that name a body do not name the person holding a role ("Svenska Kommunförbundet").
_BODY_WORD = re.compile(
    r"(förbund|forbund|departement|ministeri|styrelse|institut|kommun|region|råd|verk|myndighet|forum|kors|"
    r"forening|förening|organisation|cent(er|re|ret|rum)|fond|universitet|riksdag|folketing|regering|svensk|dansk)",
    re.I)


@lru_cache(maxsize=64)
def _asked_roles(question: str) -> list[tuple[str, ...]]:
    """The names (in da/sv/en) of each personal role the question asks about."""
    q = " ".join(raw_tokens(question))
    return [names for names in _ROLES.values() if _says(q, names)]


def _names_role(sentence: str, roles: list[tuple[str, ...]]) -> bool:
    """True when the sentence names one of the roles ("Handläggare: …" for "sagsbehandler")."""
    low = sentence.lower()
    return any(_says(low, names) for names in roles)


def _says(text: str, names: Iterable[str]) -> bool:
    """True when a word of the lowercased text begins with one of the names ("handläggaren" for "handläggare")."""
    return any(re.search(rf"\b{re.escape(n)}", text) for n in names)


def _field_kind(line: str) -> str | None:
    """What a "Label: value" line holds, by its label ("Handläggare" → officer), or None."""
    label, colon, _ = line.partition(":")
    if not colon or len(label) > 30:
        return None
    parts = [p.strip().lower() for p in label.split("/")]
    return next((k for k, names in _FIELD_LABELS.items() if any(p in names for p in parts)), None)


def _asked_fields(question: str) -> set[str]:
    """The header fields a question asks for by naming their label in any of the three languages."""
    q = " ".join(raw_tokens(question))
    return {k for k, names in _FIELD_LABELS.items() if _says(q, names)}


def _pinned_numbers(question: str) -> set[str]:
    """Years and identifiers in a question that an answering document must mention."""
    return {x for x in _numbers(question) if YEAR.fullmatch(x) or re.search(r"[-:/]", x)}


def _pinned_years(question: str) -> set[str]:
    """The years a question names ("i budget 2011")."""
    return set(YEAR.findall(question))


def _other_year(question: str, sentence: str, chunk: ChunkRecord | None = None) -> str | None:
    """The years a sentence gives an amount for when the question asks about another year, else None.

    An asked year is covered by a range ("2009-2012"), by "fra/siden/från/from 2008" before it, and is not
    about the amount at all when it names the document (its date or title: "redegørelsen fra 2010").
    """
    asked = {int(y) for y in _pinned_years(question)}
    said = {int(y) for y in YEAR.findall(sentence)}
    if not asked or not said:
        return None
    if chunk is not None and asked & {int(y) for y in YEAR.findall(f"{chunk.title} {chunk.date or ''}")}:
        return None
    covered = set(said)
    for a, b in _YEAR_RANGE.findall(sentence):
        covered |= set(range(int(a), int(b) + 1))
    since = [int(y) for y in _YEAR_SINCE.findall(sentence)]
    if asked & covered or (since and any(y >= min(since) for y in asked)):
        return None
    return ", ".join(str(y) for y in sorted(said))


def _document_context(chunk: ChunkRecord, doc_text: Callable[[str], str]) -> str:
    """Where a document states a year or number: its text, and its title, date and file name."""
    return f"{doc_text(chunk.doc_id)} {chunk.title} {chunk.date or ''} {chunk.source}"


def _mentions(pinned: set[str], text: str) -> bool:
    """Whether a text states one of the pinned numbers, a year also as part of a span, decade or century."""
    if pinned & _numbers(text):
        return True
    years = {int(y) for y in pinned if YEAR.fullmatch(y)}
    return bool(years and years & years_covered(text))


def _numbers(text: str) -> set[str]:
    return {m.group(0).replace(",", ".") for m in _NUMBER.finditer(text)}
