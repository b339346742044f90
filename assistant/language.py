"""Language detection (da / sv / en) and the keyword analyser: tokens, stop words, stems."""

from __future__ import annotations

import re
from functools import cache

LANGUAGES = ("da", "sv", "en")

# Function words that tell the three languages apart; short, frequent, and mostly unshared.
_MARKERS: dict[str, frozenset[str]] = {
    "da": frozenset(
        "og af til er ikke jeg hvad hvor hvordan hvilke hvilken hvem hvorfor hvornår meget mange "
        "blev bliver været har havde skal vil kan kunne også efter mellem eller nogle nogen deres "
        "sig selv dette disse hvis hvornaar må mod samt fra ved blandt da der de den det et en "
        "os vores jeres kommunerne regeringen hos uden gennem fordi således".split()
    ),
    "sv": frozenset(
        "och att är inte jag vad hur vilka vilken vem varför när mycket många blev blir varit har "
        "hade ska skall vill kan kunna också efter mellan eller några någon deras sig själv detta "
        "dessa om måste mot samt från vid bland då som den det ett en oss vår våra kommunerna "
        "regeringen hos utan genom eftersom sådan finns inom ur".split()
    ),
    "en": frozenset(
        "the and of to is are was were not what how which who why when much many been has have "
        "had shall will can could also after between or some any their this these if must "
        "against from by among that it a an us our municipalities government with without "
        "through because does did do in on for".split()
    ),
}
_CHAR_HINTS = {"da": "æø", "sv": "äö"}
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
YEAR = re.compile(r"\b(?:1[89]|20)\d\d\b")  # a year from 1800 to 2099: "2009"; YEAR.fullmatch for a token
_YEAR_SPAN = re.compile(r"\b(\d{4})\s*(?:-|–|—|til|till|to)\s*(\d{4})\b")  # "1917-2023", "2009 til 2012"
# a decade or a century: "1930'erne", "1930'ernes", "1930s", "1930-talet", "900-tallet", "1800-talets"
_PERIOD = re.compile(r"\b(\d{3,4})(?:['’]?(?:ernes|erne|s)|-?(?:tallets|tallet|talets|talet))\b", re.I)


def years_covered(text: str, slack: int = 1) -> set[int]:
    """The years a text speaks of: years, spans ("1917-2023"), decades and centuries, these give or take `slack`."""
    out = {int(y) for y in YEAR.findall(text)}
    for a, b in _YEAR_SPAN.findall(text):
        if int(a) <= int(b) <= int(a) + 300:
            out.update(range(int(a), int(b) + 1))
    for m in _PERIOD.finditer(text):
        start = int(m.group(1))
        if start % 10:
            continue
        width = 100 if start % 100 == 0 and "tal" in m.group(0).lower() or start < 1000 else 10
        out.update(range(start - slack, start + width + slack))
    return out


def language_scores(text: str) -> dict[str, float]:
    """Evidence per language: function-word hits plus letters only one language uses."""
    words = _WORD.findall(text.lower())
    scores = {lang: 0.0 for lang in LANGUAGES}
    for w in words:
        for lang, markers in _MARKERS.items():
            if w in markers:
                scores[lang] += 1.0
    low = text.lower()
    for lang, chars in _CHAR_HINTS.items():
        scores[lang] += 1.5 * sum(low.count(c) for c in chars)
    if "aa" in low and scores["da"] > 0:
        scores["da"] += 0.2
    return scores


def detect_language(text: str, default: str = "da") -> str:
    """The most likely language of a text among da, sv and en."""
    scores = language_scores(text[:20000])
    best = max(scores, key=lambda k: scores[k])
    if scores[best] == 0:
        return default
    return best


def is_uncertain(text: str) -> bool:
    """True when the text gives too little evidence to tell Danish from Swedish."""
    s = language_scores(text)
    ranked = sorted(s.values(), reverse=True)
    return ranked[0] < 2 or ranked[0] - ranked[1] < 1


# --- keyword analysis --------------------------------------------------------------------------

STOPWORDS: dict[str, frozenset[str]] = {
    "da": frozenset(
        "og i jeg det at en den til er som på de med han af for ikke der var mig sig men et har om "
        "vi min havde ham hun nu over da fra du ud sin dem os op man hans hvor eller hvad skal "
        "selv her alle vil blev kunne ind når være dog noget ville jo deres efter ned skulle "
        "denne end dette mit også under have dig anden hende mine alt meget sit sine vor mod "
        "disse hvis din nogle hos blive mange ad bliver hendes været thi jer sådan hvordan "
        "hvilke hvilken hvem hvorfor hvornår kan samt ved blandt".split()
    ),
    "sv": frozenset(
        "och det att i en jag hon som han på den med var sig för så till är men ett om hade de "
        "av icke mig du henne då sin nu har inte hans honom skulle hennes där min man ej vid "
        "kunde något från ut när efter upp vi dem vara vad över än dig kan sina här ha mot "
        "alla under någon eller allt mycket sedan ju denna själv detta åt utan varit hur ingen "
        "mitt ni bli blev oss din dessa några deras blir mina samma vilken er sådan vår blivit "
        "dess inom mellan sådant varför varje vilka ditt vem vilket sitt sådana vart dina "
        "vars vårt våra ert era vilkas ska skall samt".split()
    ),
    "en": frozenset(
        "a an the and or of to in on for with by from at as is are was were be been being it its "
        "this that these those what which who whom how why when where do does did has have had "
        "not no but if than then so such can could shall should will would may might must "
        "about into over under i we you he she they them their our your his her".split()
    ),
}

_TOKEN = re.compile(
    r"§\s*\d+[a-z]?"  # § 18, §18a
    r"|\d+(?:[.,:/-]\d+)+"  # 2008-1550, 1997:145, 144,7, 16.12.2008
    r"|[^\W_]+",
    re.UNICODE,
)
_STEMMER_NAMES = {"da": "danish", "sv": "swedish", "en": "english"}


@cache
def _stemmer(lang: str):
    import Stemmer  # PyStemmer: Snowball stemmers in C

    return Stemmer.Stemmer(_STEMMER_NAMES[lang])


# Abbreviations civil servants write, expanded so that "J.nr." matches "journalnummer" and
# "Cirkulärnr" also "cirkuläret" (the compound and its first part).
_ABBREVIATIONS = [
    (re.compile(r"\bj\.\s?nr\b\.?", re.I), " journalnummer journal "),
    (re.compile(r"\b(diarienr|diariernr|dnr)\b\.?", re.I), " diarienummer diarie "),
    (re.compile(r"\bcirkulærenr\b\.?|\bcirkulærnr\b\.?", re.I), " cirkulærenummer cirkulære "),
    (re.compile(r"\bcirkulärnr\b\.?", re.I), " cirkulärnummer cirkulär "),
    (re.compile(r"\b(tlf|tel|tfn)\b\.?", re.I), " telefon "),
]
# "section 18", "paragraf 18", "paragrafen 18" name the same provision as "§ 18" in any of the three languages
_SECTION = re.compile(r"\b(?:section|paragraph|paragraf|paragrafen|paragrafs|pgf)\.?\s+(\d+[a-z]?)\b", re.I)
# Bumped whenever stored keyword terms would come out differently; an index analysed by another
# version is re-analysed (not re-embedded) by the next ingest.
ANALYZER_VERSION = "3"


def raw_tokens(text: str) -> list[str]:
    """Lower-cased word, number and identifier tokens, with the parts of joined identifiers."""
    out: list[str] = []
    low = text.lower()
    if "nr" in text or "tlf" in low or "tel" in low or "tfn" in low:
        for rx, repl in _ABBREVIATIONS:
            text = rx.sub(repl, text)
        low = text.lower()
    if "sec" in low or "par" in low or "pgf" in low:
        low = _SECTION.sub(lambda m: f"{m.group(0)} §{m.group(1)} ", low)
    for m in _TOKEN.finditer(low):
        tok = m.group(0)
        if tok.startswith("§"):
            out.append("§" + tok[1:].strip())
            continue
        out.append(tok)
        if not tok.isalpha() and any(c in tok for c in ".,:/-"):
            out.extend(p for p in re.split(r"[.,:/-]", tok) if p)
    return out


def analyze(text: str, langs: tuple[str, ...] | str) -> list[str]:
    """Keyword terms of a text: tokens without stop words, stemmed for each given language."""
    return _analyze_tokens(raw_tokens(text), langs)


def match_terms(text: str, langs: tuple[str, ...] | str) -> set[str]:
    """A text's keyword terms plus its cognate keys: what answer matching compares (tokenised once)."""
    toks = raw_tokens(text)
    return set(_analyze_tokens(toks, langs)) | _nordic_keys_of(toks)


def _analyze_tokens(toks: list[str], langs: tuple[str, ...] | str) -> list[str]:
    if isinstance(langs, str):
        langs = (langs,)
    terms: list[str] = []
    for lang in langs:
        lang = lang if lang in _STEMMER_NAMES else "da"
        stop = STOPWORDS[lang]
        words = [t for t in toks if t not in stop]
        alpha = [t for t in words if t.isalpha()]
        stems = iter(_stemmer(lang).stemWords(alpha))
        terms.extend(next(stems) if t.isalpha() else t for t in words)
    if len(langs) > 1:
        seen: set[str] = set()
        terms = [t for t in terms if not (t in seen or seen.add(t))]
    return terms


_NAME_WORD = re.compile(r"(?<!^)(?<![.!?] )\b[A-ZÆØÅÄÖ][^\W\d_]{3,}")


def query_terms(question: str) -> list[str]:
    """Keyword terms of a question: analysed in its language(s); names also in the other Scandinavian one."""
    langs = query_languages(question)
    terms = analyze(question, langs)
    names = " ".join(_NAME_WORD.findall(question.strip()))
    if names:
        others = tuple(lang for lang in ("da", "sv") if lang not in langs)
        if others:
            terms += [t for t in analyze(names, others) if t not in terms]
    return terms


def query_languages(question: str) -> tuple[str, ...]:
    """The languages to analyse a question in: its own, or both Scandinavian ones when unsure."""
    lang = detect_language(question)
    if is_uncertain(question) or lang == "en":
        return ("da", "sv") if lang != "en" else ("en", "da", "sv")
    return (lang,)


_FOLD = str.maketrans({"æ": "ä", "ø": "ö", "é": "e", "ü": "y"})


def nordic_keys(text: str) -> set[str]:
    """Spelling-folded word prefixes that Danish and Swedish cognates share (afsat ~ avsatte)."""
    return _nordic_keys_of(raw_tokens(text))


def _nordic_keys_of(toks: list[str]) -> set[str]:
    out: set[str] = set()
    for tok in toks:
        if len(tok) < 4 or not tok.isalpha():
            continue
        t = tok.translate(_FOLD).replace("aa", "å")
        if t.startswith("af"):
            t = "av" + t[2:]
        out.add("~" + t[:5])
    return out
