"""Build typed fact questions (amount, date, count, person, identifier) from the regeringen-sv pages.

The questions are written by rules from the pages themselves, not by the people who tune the answerer.
For pages picked at random with ``--seed``, the script finds sentences that state exactly one fact of a
kind and turns each into a Swedish question by replacing the fact with a question phrase while keeping
the rest of the sentence, for example

    Regeringen avsätter 50 miljoner kronor till förstärkt elevhälsa 2024.
    -> Hur mycket avsätter regeringen till förstärkt elevhälsa 2024?        (fact: 50 miljoner kronor)

Kinds (the ``kind`` field of each question):

* ``amount``: a sum of money ("50 miljoner kronor", "300 000 kronor") -> "Hur mycket ...?"
* ``date``: a full date ("den 1 mars 2024", "senast den 15 oktober 2023") -> "När ...?" / "Senast när ...?"
  (fact: "1 mars 2024")
* ``count``: a number of things or people, not money, a year or a percentage ("120 kommuner",
  "fem myndigheter") -> "Hur många ...?" (fact: "120 kommuner")
* ``person``: a named person with a role ("socialminister Jakob Forssmed") who does something in the
  sentence -> "Vem ...?" (fact: the name). Three shapes: the person is the subject ("Socialminister X
  deltar i ..." -> "Vem deltar i ...?"), the person is appointed ("Regeringen har utsett X till ..." ->
  "Vem har regeringen utsett till ...?"), or the person is quoted ("..., säger socialminister X." ->
  "Vem säger: ”...”?").
* ``identifier``: a diary number ("S2023/01234"), a bill number ("prop. 2022/23:45") or a report or
  directive number ("SOU 2021:43", "Ds 2003:61", "dir. 2024:13") that follows a named document, or the
  ``Diarienummer:`` line of a government assignment -> "Vilket diarienummer/nummer har ...?"

A sentence is dropped when it has more than 35 words, starts with a pronoun that refers back
("Det", "Den", "Detta", "De", ...), holds two facts of the kind, cannot be rewritten cleanly by the rules
(for example when the fact sits in a relative clause), or also occurs word for word in another page (the
question would then have more than one right page). Words that tie a sentence to the one before it
("därför", "även") are left out of the question, and a question that still points back ("dessa", "han") is
dropped. When a question says too little to pick out its page among 3,549 ("När ska uppdraget
redovisas?"), or when the words around its fact recur in another page (another year's press release with
another sum), the page's type and title are added: "När ska uppdraget redovisas enligt regeringsuppdraget
”Uppdrag till Socialstyrelsen att ...”?"; if the title is shared by several pages or gives the answer away,
the question is dropped. At most ``--per-page`` questions (default 2, of different kinds) come from one
page, about ``--total`` questions (default 400) are spread evenly over the kinds as far as the pages allow,
and at most half the person questions are quotes.

Each question has ``id`` (``rf-<kind>-NNNN``), ``language: sv``, ``question``, ``answerable: true``,
``kind``, ``gold_docs`` (the page's doc_id in the full index), ``supporting`` (the sentence, verbatim
from the index's canonical text, which is what ``assistant eval`` checks) and ``facts`` (the fact,
verbatim from the sentence). Sentences are taken from the canonical text in the index, so the index of
all pages must exist first (``--index``, default ``bench/out/regeringen-full-index``)::

    .venv/bin/assistant ingest --index bench/out/regeringen-full-index ../shared/datasets/regeringen-sv/docs

Questions are split into dev and test by the sha1 of the page's doc_id (last hex digit even: dev), so
both questions of a page land on the same side. Output under ``--out`` (default
``eval/out/regeringen-facts``, git-ignored; the pages' licence note asks not to copy them into the
repository): ``dev.yaml`` (for tuning), ``test.yaml`` (for reporting only) and ``all.yaml``, in the format
of ``eval/questions.yaml``.

Usage (from the repository root)::

    .venv/bin/python eval/datasets/make_regeringen_facts.py
    .venv/bin/python eval/datasets/make_regeringen_facts.py --seed 1 --total 600 --out eval/out/regeringen-facts-1
    .venv/bin/assistant eval eval/out/regeringen-facts/dev.yaml --index bench/out/regeringen-full-index \\
        --out eval/out/regeringen-facts-run
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
import re
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass
from pathlib import Path

from make_regeringen import path_problem  # this folder is on sys.path when run as a script

ROOT = Path(__file__).resolve().parents[2]
DEFAULT_SRC = ROOT.parent / "shared" / "datasets" / "regeringen-sv" / "docs"
DEFAULT_INDEX = Path("bench/out/regeringen-full-index")
DEFAULT_OUT = Path("eval/out/regeringen-facts")
GIT_IGNORED = ("eval/out", "bench/out")  # output folders inside the repository that .gitignore keeps out of git
KINDS = ("amount", "date", "count", "person", "identifier")
MAX_WORDS = 35

# --- words -------------------------------------------------------------------------------------

MONTHS = "januari|februari|mars|april|maj|juni|juli|augusti|september|oktober|november|december"
WEEKDAYS = "måndag|tisdag|onsdag|torsdag|fredag|lördag|söndag"
NUMBER_WORDS = (
    "två tre fyra fem sex sju åtta nio tio elva tolv tretton fjorton femton sexton sjutton arton nitton "
    "tjugo trettio fyrtio femtio sextio sjuttio åttio nittio hundra"
).split()
NUM = r"(?:\d{1,3}(?: \d{3})+|\d+)(?:,\d+)?"
BIG = r"(?:miljoner|miljarder|miljon|miljard|tusen)"

AMOUNT_RE = re.compile(
    rf"(?<![\w,.:/–-])(?:{NUM}(?: {BIG})? (?:kronor|kr\b)|{NUM} (?:mnkr|mdkr|mkr|tkr|msek|mdr kr)\b"
    rf"|(?:en|ett|{'|'.join(NUMBER_WORDS)}) {BIG} kronor)"
)
DATE_RE = re.compile(
    rf"(?:(?<=\s)|^)(?:(?:(?:{WEEKDAYS})(?:en)? )?den )?(?<![\d–-])(\d{{1,2}}) ({MONTHS}) (\d{{4}})\b"
)
COUNT_NUM_RE = re.compile(rf"(?<![\w,.:/§–-])(?:\d{{1,3}}(?: \d{{3}})+|\d+|{'|'.join(NUMBER_WORDS)})(?![\w,.:/–%-])")
NAME = r"[A-ZÅÄÖÉ][a-zåäöéüèë]+(?:-[A-ZÅÄÖ][a-zåäöé]+)?"
FULL_NAME = rf"{NAME}(?: {NAME}){{1,2}}"
ROLE = (
    r"(?:[a-zåäöA-ZÅÄÖ]+- och )?(?:[a-zåäöA-ZÅÄÖ-]*minister|[Ss]tatsrådet|[Ss]tatssekreterare(?:n)?"
    r"|[Gg]eneraldirektör(?:en)?|[Ll]andshövding(?:en)?|[Aa]mbassadör(?:en)?|[Kk]abinettssekreterare(?:n)?"
    r"|[Rr]iksdagsledamot(?:en)?|[Öö]verdirektör(?:en)?|[Rr]ättschef(?:en)?|[Ss]ärskilda utredaren"
    r"|[Ss]ärskild utredare|[Uu]tredaren|[Pp]rofessor(?:n)?|[Oo]rdförande(?:n)?|[Ss]amordnare(?:n)?"
    r"|[Pp]ressekreterare(?:n)?|[Kk]ommunalråd(?:et)?|[Rr]egionråd(?:et)?)"
)
PERSON_RE = re.compile(rf"\b{ROLE} ({FULL_NAME})\b")
APPOINT_RE = re.compile(rf"\b(utsett|utnämnt|förordnat|utsåg|utnämnde|förordnade|utser|utnämner|förordnar) ({FULL_NAME}) (till|som) ")
SAYS_RE = re.compile(rf", (?:säger|sa|sade|skriver|konstaterar|betonar|understryker) ({ROLE}) ({FULL_NAME})[.!]?$")
DIARY = r"[A-ZÅÄÖ][A-Za-zÅÄÖåäö]{0,3}\d{4}/\d{3,6}(?:/[A-Za-z0-9]+)?"
IDENT_RE = re.compile(
    rf"\((?:dnr:? )?(?P<id>{DIARY}|prop\. \d{{4}}/\d{{2}}:\d+|SOU \d{{4}}:\d+|Ds \d{{4}}:\d+|dir\. \d{{4}}:\d+"
    rf"|SFS \d{{4}}:\d+)(?=[),;])"
)
DIARY_LINE_RE = re.compile(rf"^(?P<title>.{{10,250}}?)Diarienummer: +(?P<id>{DIARY})\s*$")

PRONOUNS = {
    "det", "den", "detta", "denna", "dessa", "de", "dem", "han", "hon", "hen", "vi", "jag", "ni", "man",
    "sådana", "sådan", "sådant", "hans", "hennes", "deras", "dess", "där", "här", "därmed", "därigenom",
}
CONNECTIVES = {
    "dessutom", "därför", "därutöver", "härutöver", "vidare", "även", "också", "samtidigt", "sammantaget",
    "slutligen", "alltså", "således", "nu", "därtill", "likaså",
}
PREPOSITIONS = {
    "i", "på", "till", "för", "av", "med", "under", "inom", "från", "vid", "hos", "mellan", "bland", "genom",
    "om", "efter", "mot", "inför", "enligt", "utöver", "sedan", "fram", "per", "kring", "runt", "utan",
}
ADVERBIAL_STARTS = PREPOSITIONS | CONNECTIVES | {
    "idag", "totalt", "sammanlagt", "redan", "senast", "tidigare", "därefter", "sedan", "hittills", "årligen",
    "framöver", "förra", "nästa", "hösten", "våren", "sommaren", "vintern", "uppskattningsvis",
    "preliminärt", "exempelvis",
}
BACK_ADVERBS = {"därför", "dessutom", "därutöver", "härutöver", "således", "alltså", "även", "också", "därmed"}
APPROX = {"cirka", "ca", "drygt", "knappt", "omkring", "ungefär", "nästan", "närmare", "runt", "uppemot", "över"}
SUBORDINATORS = {
    "som", "vilket", "vilka", "vilken", "där", "när", "eftersom", "medan", "då", "innan", "tills", "fast",
    "trots", "samt", "varav", "varvid", "vars", "huruvida", "ifall", "såsom", "dvs.", "bl.a.", "t.ex.",
}
NOT_COUNT_NOUNS = {
    "procent", "procentenheter", "procentenhet", "kronor", "kr", "miljoner", "miljarder", "miljon", "miljard",
    "tusen", "euro", "dollar", "gånger", "gång", "kap.", "kap", "§", "st", "st.", "och", "eller", "till",
    "av", "i", "på", "om", "för", "med", "år", "års", "procents", "stycken", "personer/år", "timmar/vecka",
    "fler", "färre", "mer", "mindre", "respektive",
} | set(MONTHS.split("|"))
TIME_UNITS = {"år", "månader", "veckor", "dagar", "timmar", "minuter", "månaders", "veckors", "dagars", "timmars"}
FINITE = set(
    """är var har hade ska skall skulle kan kunde kommer kom får fick vill ville bör borde måste blir blev ges gavs
    ger gav tar tog går gick står stod ser såg gör gjorde finns fanns föreslås föreslogs föreslår föreslog avsätts
    avsattes avsatte avsätter tillsätter tillsatte beslutar beslutade träder trädde gäller gällde uppgår uppgick
    innebär innebar omfattar omfattade håller höll lämnar lämnade lämnas lämnades redovisas redovisades tillförs
    tillfördes fördelas fördelades beräknas beräknades bedöms bedömdes uppskattas väntas förväntas avser avsåg sker
    skedde sätts satsas satsar satsade tilldelas utses utsågs utsåg utser utnämnde utnämner förordnade förordnar
    deltar deltog besöker besökte reser reste medverkar medverkade talar talade träffar träffade leder ledde inleder
    inledde presenterar presenterade överlämnar överlämnade fattade fattar bjuder bjöd invigde inviger öppnar
    öppnade höjs höjdes sänks sänktes ökar ökade minskar minskade betalas betalades uppdrar uppdrog tilldelar
    beviljas beviljades beviljar beviljade anvisas anvisades motsvarar motsvarade kostar kostade omfattas införs
    infördes upphör upphörde börjar började löper startar startade pågår pågick återstår behöver behövde
    uppmärksammar mottog mottar tillträder tillträdde förlängs förlängdes utgör utgjorde tillför genomför medför
    innehåller innehöll""".split()
)
STOPWORDS = set(
    """och eller att som en ett den det de är var har hade ska kan kommer får i på till för av med om under från
    inom vid hos mellan bland genom efter mot sig sin sitt sina hur mycket många när vem vilket vilken vilka
    också även samt bland annat nu dag redan totalt ytterligare senast inte denna detta dessa där här så
    enligt""".split()
)
GENERIC = set(
    """regeringen uppdraget myndigheten myndigheterna stödet bidraget anslaget medlen satsningen lagen lagändringarna
    ändringarna förslagen förslaget förordningen beslutet reformen regeländringarna utredningen utredaren
    utredarens redovisas redovisa delredovisas slutredovisas träda träder kraft gälla gäller lämna lämnas
    arbetet insatserna uppgiften sverige svenska kronor miljoner miljarder regeringens uppdrag beslutat
    föreslås föreslår föreslog tid personer åtgärder projektet uppdragets genomförande genomförandet programmet pengarna anslag medel slutredovisning
    delredovisning redovisning redovisningen slutredovisningen rekvisition rekvisitionen gemensam skriftlig resultatet
    regeringskansliet kammarkollegiet""".split()
)
DOC_TYPES = {
    "informationsmaterial": "skriften",
    "pressmeddelanden": "pressmeddelandet",
    "rapporter": "rapporten",
    "departementsserien-och-promemorior": "promemorian",
    "forordningsmotiv": "förordningsmotiven",
    "kommittedirektiv": "kommittédirektiven",
    "lagradsremiss": "lagrådsremissen",
    "proposition": "propositionen",
    "skrivelse": "skrivelsen",
    "statens-offentliga-utredningar": "betänkandet",
    "sveriges-internationella-overenskommelser": "överenskommelsen",
    "regeringsuppdrag": "regeringsuppdraget",
    "strategier-for-internationellt-bistand": "strategin",
}
# Named documents an identifier in parentheses can belong to: (word ending, definite form for the question).
IDENT_HEADS = (
    ("delbetänkandet", "delbetänkandet"), ("delbetänkande", "delbetänkandet"), ("slutbetänkandet", "slutbetänkandet"),
    ("slutbetänkande", "slutbetänkandet"), ("betänkandet", "betänkandet"), ("betänkande", "betänkandet"),
    ("propositionen", "propositionen"), ("proposition", "propositionen"), ("promemorian", "promemorian"),
    ("promemoria", "promemorian"), ("rapporten", "rapporten"), ("rapport", "rapporten"),
    ("uppdraget", "uppdraget"), ("lagrådsremissen", "lagrådsremissen"), ("skrivelsen", "skrivelsen"),
    ("strategin", "strategin"), ("handlingsplanen", "handlingsplanen"), ("utredningen", "utredningen"),
    ("förordningen", "förordningen"), ("lagen", "lagen"), ("direktiven", "direktiven"),
)
IDENT_PHRASE = {
    "prop.": "Vilket nummer har",
    "SOU": "Vilket SOU-nummer har",
    "Ds": "Vilket Ds-nummer har",
    "dir.": "Vilket direktivnummer har",
    "SFS": "Vilket SFS-nummer har",
}

# --- texts and sentences -----------------------------------------------------------------------


@dataclass
class Page:
    """One page of regeringen-sv as the full index holds it."""

    file: str
    doc_id: str
    title: str
    text: str


@dataclass
class Candidate:
    """One question that a sentence of a page gives."""

    kind: str
    question: str
    sentence: str  # verbatim from the page's canonical text
    fact: str  # verbatim from the sentence
    start: int  # offset of the sentence in the canonical text
    in_context: str | None = None  # the question with the page's type and title, if it can have them


ABBREVIATIONS = re.compile(
    r"(?:\b(?:bl\.a|t\.ex|s\.k|p\.g\.a|m\.a\.o|o\.s\.v|f\.n|fr\.a|u\.a|m\.m|m\.fl|fr\.o\.m|t\.o\.m|d\.v\.s|dvs|osv|prop|dir|kap|resp|jfr|ca|nr|st|s|p|e\.d|f\.d"
    r"|o\.d|bet|rskr|skr|rå|dnr|tel|kl|mnkr|mdkr|mkr|tkr|milj|inkl|exkl|ev|etc|proc|ang|avd|enl|forts|obs|vs|iaf)"
    r"|\b[A-ZÅÄÖ])\.$"
)


def sentences(text: str) -> list[tuple[int, int]]:
    """Spans of the sentences (and title or list lines) of a canonical text."""
    spans: list[tuple[int, int]] = []
    for para in re.finditer(r"[^\n](?:.|\n(?![ \t]*\n|[ \t]*[*+-] |[ \t]*\d+\. |[ \t]*\|))*", text):
        p0 = para.start()
        block = para.group()
        marker = re.match(r"[ \t]*(?:[*+-]|\d+\.) +", block)
        if marker:
            p0 += marker.end()
            block = block[marker.end():]
        if block.lstrip().startswith("|"):
            continue
        start = 0
        # A stop before a capital, or a line break before a capital after a word (a heading or list line without
        # a stop runs into the next sentence otherwise).
        for m in re.finditer(r"[.!?](?=\s+[–\"”A-ZÅÄÖ0-9])|(?<=[\wåäö])(?=\n[A-ZÅÄÖ])", block):
            head = block[start : m.end()]
            if ABBREVIATIONS.search(head):
                continue
            spans.append((p0 + start, p0 + m.end()))
            start = m.end()
            while start < len(block) and block[start].isspace():
                start += 1
        if start < len(block):
            spans.append((p0 + start, p0 + len(block.rstrip())))
    return [(s, e) for s, e in spans if e > s]


def squash(s: str) -> str:
    """One line with single spaces."""
    return " ".join(s.split())


# --- corpus statistics: which words are verbs, which capitalised words are common nouns -----------


MODAL_INF_RE = re.compile(
    r"\b(?:ska|skall|kan|kunna|bör|måste|skulle|kunde|vill|behöver|kommer att|avser att|försöka|brukar)"
    r" (?:inte |också |även |därför |kunna |få )?([a-zåäö]+a)\b"
)


class Lexicon:
    """Infinitives (words after "att"), and lowercase vs capitalised counts of words inside sentences."""

    def __init__(self, texts: list[str]) -> None:
        inf: Counter[str] = Counter()
        after_att: Counter[str] = Counter()
        case: Counter[str] = Counter()
        for t in texts:
            inf.update(m.group(1) for m in MODAL_INF_RE.finditer(t))
            after_att.update(m.group(1) for m in re.finditer(r"\batt ([a-zåäö]+a)\b", t))
            case.update(m.group(1) for m in re.finditer(r"(?<=[a-zåäö,] )([A-Za-zÅÄÖåäö]+)", t))
        self.infinitives = {w for w, n in inf.items() if n >= 2}
        # Looser, for recognising finite verbs by their infinitive: also words seen after "att" (more nouns slip in).
        self.verb_stems = self.infinitives | {w for w, n in after_att.items() if n >= 3}
        self.case = case

    def is_infinitive(self, w: str) -> bool:
        """True for an infinitive such as "avsätta" (a word seen after modal verbs)."""
        return w in self.infinitives or w in {"få", "gå", "stå", "se", "ha", "ge", "ta", "bli", "slå", "dö", "bo", "tro"}

    def is_finite(self, tok: str) -> bool:
        """True for a finite verb such as "avsätter", "fördelas", "beslutade" (by list, or by its infinitive)."""
        w = tok.rstrip(",.;:")
        if not w or not w.islower() or not w.isalpha():
            return False
        if w in FINITE:
            return True
        inf = self.verb_stems
        if w.endswith("ar") and w[:-1] in inf:
            return True
        if w.endswith("er") and w[:-2] + "a" in inf and not w.endswith("der"):
            return True
        if w.endswith("r") and w + "a" in inf:
            return False  # "tillför" would be a verb, but so is "för"; too ambiguous
        if w.endswith("s") and (w[:-1] in inf or w[:-1] + "a" in inf):
            return True
        if w.endswith("ade") and w[:-2] in inf:
            return True
        if w.endswith("ades") and w[:-3] in inf:
            return True
        return False

    def common(self, word: str) -> bool:
        """True if a capitalised word is usually written in lowercase inside a sentence."""
        low, cap = word.lower(), word[:1].upper() + word[1:].lower()
        return self.case[low] > 2 * self.case[cap] or self.case[cap] == 0

    def maybe_finite(self, tok: str) -> bool:
        """Like is_finite, but also guesses from the ending ("dimensioneras", "sysselsätter"); for rejecting."""
        w = tok.rstrip(",.;:")
        return self.is_finite(w) or (w.islower() and len(w) >= 6 and bool(re.search(r"(?:ar|er|ade|as|de|te)$", w)))

    def is_participle(self, w: str) -> bool:
        """True for a supine or participle such as "ansökt", "beslutat", "tillförts"."""
        inf = self.infinitives
        return w.endswith(("t", "ts")) and any(x in inf for x in (w[:-1] + "a", w[:-2] + "a", w[:-1], w[:-2]))


def lower_first(words: list[str], lex: Lexicon) -> list[str]:
    """The first word in lowercase unless it is a name (written capitalised inside sentences)."""
    if not words:
        return words
    w = words[0]
    core = w.rstrip(",.;:")
    if core.lower() in ADVERBIAL_STARTS or (core[:1].isupper() and core[1:].islower() and lex.common(core)):
        return [w[:1].lower() + w[1:], *words[1:]]
    return words


# --- rewriting ---------------------------------------------------------------------------------


@dataclass
class Clause:
    """A main clause split at its finite verb (V2): first constituent, verb, the rest."""

    tokens: list[str]
    verb: int
    adverbial: bool  # the first constituent is an adverbial (else it is the subject)


def parse(s: str, lex: Lexicon) -> Clause | None:
    """Split a sentence (without its final stop) at the finite verb in second position."""
    tokens = s.split(" ")
    for i in range(1, min(len(tokens), 9)):
        if tokens[i - 1].endswith((",", ":", ";")) or tokens[i - 1] in ("–", "-"):
            return None
        if lex.is_finite(tokens[i]):
            if tokens[i - 1] == "och" or any(w.lower() in SUBORDINATORS | {"att", "hur"} for w in tokens[:i]):
                return None
            if any(w.lower() in {"dessa", "denna", "detta", "dess", "deras", "dem"} for w in tokens[:i]):
                return None  # "Av dessa barn ...": refers back
            first = tokens[0].lower()
            adverbial = first in ADVERBIAL_STARTS or bool(re.fullmatch(r"\d{4}", first)) or (
                first == "den" and len(tokens) > 2 and bool(re.fullmatch(rf"\d{{1,2}}|{MONTHS}", tokens[1]))
            )
            return Clause(tokens, i, adverbial)
    return None


def clean(q: str) -> str | None:
    """Tidy spaces and punctuation of a rewritten question; capital first letter and a question mark.

    Words that tie the sentence to the one before it ("därför", "även") are dropped; a question that still
    points back ("dessa områden") is rejected."""
    q = " ".join(w for w in q.split() if w.lower() not in BACK_ADVERBS)
    if re.search(r":(?:\s|$)", q):
        return None  # a list or a heading ran into the sentence
    if re.search(r"\b(?:dessa|denna|detta|densamma|detsamma|desamma|ovan|nedan|han|hon|hen|hans|hennes|vi|jag|oss"
                 r"|vår|vårt|våra)\b", q, re.I):
        return None
    q = squash(q)
    q = re.sub(r"\s+([,.;:)])", r"\1", q)
    q = re.sub(r"\(\s*\)", "", q)
    q = re.sub(r",\s*,", ",", q)
    q = squash(q).strip(" ,;:–-")
    q = q.rstrip(".!")
    if q.count("(") != q.count(")") or q.count("”") % 2:
        return None  # the fact stood inside parentheses or quotes
    return q[:1].upper() + q[1:] + "?"


def token_range(s: str, start: int, end: int) -> tuple[int, int]:
    """Token indices [a, b) of a character span of a single-spaced string."""
    a = s[:start].count(" ")
    b = a + s[start:end].count(" ") + 1
    return a, b


def front(s: str, a: int, b: int, wh: str, lex: Lexicon) -> str | None:
    """Move the phrase at tokens [a, b) of sentence s to the front as the question phrase wh (V2 order)."""
    c = parse(s, lex)
    if c is None:
        return None
    t, v = c.tokens, c.verb
    if b <= v:  # the fact is in the first constituent: it must be all of it
        if a != 0 or b != v:
            return None
        return clean(" ".join([wh, t[v], *t[v + 1 :]]))
    if a <= v:
        return None
    between = t[v + 1 : a]
    if any(w.endswith((",", ";", ":")) or w in ("–", "-") or w.lower() in SUBORDINATORS for w in between):
        return None
    for i, w in enumerate(between):
        nxt = between[i + 1] if i + 1 < len(between) else t[a]
        if w == "att" and not lex.is_infinitive(nxt.rstrip(",.")):
            return None
        if w == "och" and any(lex.maybe_finite(x) for x in between[i + 1 :] + [t[a]]):
            return None  # "... och myndigheten dimensioneras till ...": a second clause
    after = t[b:]
    if "men" in after:
        return None  # "Lagen träder i kraft den 1 januari 2025 men datum för ...": the contrast needs the fact
    for i, w in enumerate(after[:-2]):
        if w in ("och", "men", "samt") and not lex.is_finite(after[i + 1]) and any(lex.is_finite(x) for x in after[i + 2 : i + 4]):
            return None  # "... fick 500 000 kronor och regeringen beräknade ...": a second clause with its own subject
    if t[b - 1].endswith(","):  # "... 50 miljoner kronor, vilket ..." : keep the comma's clause break
        rest = [*between, "," if b < len(t) else "", *t[b:]]
    else:
        rest = [*between, *t[b:]]
    first = t[:v]
    if not c.adverbial:
        return clean(" ".join(w for w in [wh, t[v], *lower_first(first, lex), *rest] if w))
    if len(first) == 1 and first[0].lower() in CONNECTIVES:
        first = []
    # The adverbial that stood first goes to the end of the main clause (before a comma that starts another).
    tail = " ".join(w for w in rest if w)
    adverbial = " ".join(lower_first(first, lex))
    clause = re.search(r", (?:som|vilket|vilka|där|när|då|så|men|och|eftersom|medan|inklusive|bland|samt|för att)\b", tail)
    cut = clause.start() if clause else -1
    tail = f"{tail[:cut]} {adverbial}{tail[cut:]}" if cut >= 0 else f"{tail} {adverbial}"
    return clean(f"{wh} {t[v]} {tail}")


def usable(s: str) -> bool:
    """A sentence that can become a question: not too long, not a question, no back-referring pronoun first."""
    words = s.split(" ")
    if len(words) > MAX_WORDS or len(words) < 5 or s.endswith(("?", ":", ";", ",")) or s.startswith(("–", "-", "”", '"', "(")):
        return False
    if SAYS_RE.search(s) or re.search(r", (?:säger|sa|sade) ", s):
        return False  # a quote: its "vi" and "jag" are the speaker's
    if words[0].lower() in {"bara", "endast", "enbart", "också", "även", "och", "men", "eller", "så", "om", "när", "då",
                            "eftersom", "innan", "medan", "trots", "fast", "ifall", "såsom", "liksom", "precis"}:
        return False  # a focus adverb or a subordinate clause first: the V2 rules do not apply
    for prev, w in zip(words, words[1:]):
        if w[:1].isupper() and w.lower() in STOPWORDS | PRONOUNS | PREPOSITIONS | CONNECTIVES and prev[-1:] not in ".:!?":
            return False  # "... via Världsbanken Sedan den ...": two sentences without a stop between them
    first = words[0].lower().strip(",")
    if first in PRONOUNS and not (first == "den" and len(words) > 1 and re.fullmatch(r"\d{1,2}", words[1])):
        return False
    return s[0].isupper() or s[0].isdigit()


def core(s: str) -> str:
    """A sentence without its final full stop."""
    return s[:-1] if s.endswith((".", "!")) else s


def amount_question(s: str, lex: Lexicon) -> tuple[str, str] | None:
    found = list(AMOUNT_RE.finditer(s))
    if len(found) != 1 or len(re.findall(rf"\d {BIG}\b|\d (?:mnkr|mdkr|mkr|tkr)\b|\d kr\b", s)) > 1 or " respektive " in s:
        return None
    if not usable(s):
        return None  # none, or two sums ("16 miljoner kronor till X och 12 miljoner till Y")
    m = found[0]
    if re.match(r"(?:19|20)\d\d kr", m.group()):
        return None  # "under andra halvåret 2025 kronor": a year, not a sum
    c = core(s)
    a, b = token_range(c, m.start(), m.end())
    t = c.split(" ")
    wh = "hur mycket"
    if a > 0 and t[a - 1].lower() in {"högst", "minst", "maximalt", "max", "upp", "mellan", "från", "än", "över", "och",
                                      "eller", "samt", "respektive", "à", "–"}:
        return None  # a ceiling, a range or a second sum
    if "från" in (w.lower() for w in t[max(0, a - 5) : a]) and a > 0 and t[a - 1].lower() == "till":
        return None  # "från 100 till 150 miljoner kronor"
    while a > 0 and t[a - 1].lower() in APPROX - {"över"}:
        a -= 1
    if a > 0 and t[a - 1].lower() in PREPOSITIONS:
        p = t[a - 1].lower()
        prev = t[a - 2].lower() if a > 1 else ""
        if p == "med" and re.match(r"(ök|höj|minsk|sänk|förstärk|utök|räkn)", prev):
            wh, a = "med hur mycket", a - 1
        elif p == "till" and re.match(r"(uppg[åi]|ök|höj|minsk|sänk)", prev):
            wh, a = "till hur mycket", a - 1
        else:
            return None
    q = front(c, a, b, wh, lex)
    return (q, m.group()) if q else None


def date_question(s: str, lex: Lexicon) -> tuple[str, str] | None:
    found = list(DATE_RE.finditer(s))
    if len(found) != 1 or not usable(s):
        return None
    m = found[0]
    c = core(s)
    a, b = token_range(c, m.start(), m.end())
    t = c.split(" ")
    if b < len(t) and re.fullmatch(r"[–-]|till|och", t[b]) or t[b - 1].endswith(("–", "-")):
        return None
    if a > 0 and t[a - 1].endswith(","):
        return None
    wh = "när"
    prev2 = " ".join(t[max(0, a - 3) : a]).lower()
    if prev2.endswith("från och med") or prev2.endswith("fr.o.m."):
        n = 3 if prev2.endswith("från och med") else 1
        wh, a = "från och med när", a - n
    elif prev2.endswith("till och med") or prev2.endswith("t.o.m."):
        n = 3 if prev2.endswith("till och med") else 1
        wh, a = "till och med när", a - n
    elif a > 0 and t[a - 1].lower() == "senast":
        wh, a = "senast när", a - 1
    elif a > 0 and t[a - 1].lower() == "sedan":
        wh, a = "sedan när", a - 1
    elif a > 0 and t[a - 1].lower() in {"på", "i"}:
        a -= 1
    elif a > 0 and (t[a - 1].lower() in PREPOSITIONS or t[a - 1].lower() in {"före", "innan", "efter", "per"}):
        return None
    q = front(c, a, b, wh, lex)
    return (q, f"{m.group(1)} {m.group(2)} {m.group(3)}") if q else None


def noun_phrase(words: list[str], lex: Lexicon) -> list[str]:
    """The adjectives and the noun that follow a number ("ukrainska elever"), or [] if they do not look like one."""
    np: list[str] = []
    for w in words[:3]:
        bare = w.rstrip(",.;:")
        if not bare or not bare.isalpha() or not bare.islower() or bare in STOPWORDS:
            return []
        if lex.is_finite(bare) or lex.is_participle(bare) or lex.is_infinitive(bare):
            return []
        np.append(bare)
        adjective = re.search(r"(?:a|iga|ska|iska|ella|na|ade|ande|ende|aste|este)$", bare) and not bare.endswith("are")
        if bare != w or not adjective:
            break
    else:
        return []
    nxt = words[len(np)].rstrip(",.;:") if len(words) > len(np) else ""
    if np[-1].endswith("are") and np[-1] == words[len(np) - 1] and nxt.isalpha() and nxt.islower() and (
        nxt not in STOPWORDS and not lex.maybe_finite(nxt) and not lex.is_participle(nxt)
    ):
        np.append(nxt)  # "två nyare substanser": "nyare" was a comparative, not a noun like "lärare"
    noun = np[-1]
    if len(np) == 1 and re.search(r"(?:iga|ska|ella|ade|ande|ende|t)$", noun) and noun not in {"brott", "barn"}:
        return []  # an adjective or adverb without its noun ("tre olika"), or a verb form
    if re.search(r"(?:na|ens|nas|s)$", noun) and not noun.endswith(("ss", "us")):
        return []  # a definite form ("budgetpropositionerna") or a genitive ("fyra månaders praktik")
    return np


def count_phrases(s: str, lex: Lexicon) -> list[tuple[int, int, str, str]]:
    """(start, end, fact, noun phrase) of each count (a number and what it counts) in a sentence."""
    taken = [(m.start(), m.end()) for m in AMOUNT_RE.finditer(s)] + [(m.start(), m.end()) for m in DATE_RE.finditer(s)]
    out = []
    for m in COUNT_NUM_RE.finditer(s):
        if any(x <= m.start() < y for x, y in taken):
            continue
        num = m.group()
        if re.fullmatch(r"1[89]\d\d|20\d\d", num):
            continue  # a year
        before = s[: m.start()].rstrip().split(" ")[-1] if m.start() else ""
        if re.fullmatch(r"(?:kap\.|§|punkt|artikel|avsnitt|bilaga|nr|nummer|steg|år|vecka|sid|sidan|s\.|klockan|kl\."
                        r"|prop\.|SOU|dir\.|Ds|SFS|version|fas|etapp|mål|Agenda|del|p\.|tabell|figur|ålder)", before):
            continue
        if before[:1].isupper() and m.start() > len(before) + 1 and not before.endswith(".") and before.lower() not in ADVERBIAL_STARTS:
            continue  # "Agenda 2030", "Artikel 5"
        if num in NUMBER_WORDS and num in {"sex", "tio"} and s[m.end() :].startswith(" och"):
            continue
        if before.lower() in {"senaste", "kommande", "första", "sista", "närmaste", "följande", "de", "dessa", "alla",
                              "och", "eller", "samt", "respektive"}:
            continue  # "de senaste två åren": not a count of things
        if re.fullmatch(r"\(.*\)", before):  # "Arbetsorganisationens (ILO) åtta kärnkonventioner"
            before = s[: m.start()].rstrip()[: -len(before)].rstrip().split(" ")[-1]
        if before.endswith("s") and before.lower() not in PREPOSITIONS | {"hos", "totalt"}:
            continue  # "landets 290 kommuner", "utredningens tre referensländer": a definite set, not a count
        np = noun_phrase(s[m.end() :].split(" ")[1:], lex)
        if not np or np[-1] in NOT_COUNT_NOUNS or np[0] in NOT_COUNT_NOUNS:
            continue
        if np[-1] in TIME_UNITS and before.lower() in {"under", "över", "mellan", "från", "upp", "till", "än"}:
            continue
        if re.search(r"(?:tredje|fjärde|femte|sjätte|sjunde|åttonde|nionde|tionde)del", np[-1]):
            continue  # a fraction
        after = s[m.end() :].split(" ")[1 + len(np) : 2 + len(np)]
        if after and after[0].rstrip(",.") in {"sedan", "respektive"}:
            continue  # "två decennier sedan"
        fact = s[m.start() : m.end()] + " " + " ".join(np)
        if not s.startswith(fact, m.start()):
            continue
        out.append((m.start(), m.start() + len(fact), fact, " ".join(np)))
    return out


def count_question(s: str, lex: Lexicon) -> tuple[str, str] | None:
    found = count_phrases(s, lex)
    if len(found) != 1 or not usable(s):
        return None
    taken = [(m.start(), m.end()) for m in AMOUNT_RE.finditer(s)] + [(m.start(), m.end()) for m in DATE_RE.finditer(s)]
    numbers = [m for m in COUNT_NUM_RE.finditer(s) if not re.fullmatch(r"1[89]\d\d|20\d\d", m.group())
               and not any(x <= m.start() < y for x, y in taken)]
    if len(numbers) != 1:
        return None  # "287 av landets 290 kommuner": two numbers
    start, end, fact, np = found[0]
    c = core(s)
    if end > len(c):
        return None
    a, b = token_range(c, start, end)
    t = c.split(" ")
    if a > 0 and t[a - 1].lower() in {"de", "dessa", "samtliga", "alla", "den", "det", "sina", "våra", "deras", "dess",
                                      "sin", "sitt", "av", "än", "högst", "minst", "mellan", "varav", "respektive"}:
        return None
    if a > 1 and t[a - 2].lower() == "upp" and t[a - 1].lower() == "till":
        return None  # "upp till 3 barn": a ceiling
    if b < len(t) and t[b].lower().rstrip(",") in {"och", "eller", "av", "–", "-"}:
        return None
    while a > 0 and t[a - 1].lower() in APPROX:
        a -= 1
    if a > 1 and " ".join(t[a - 2 : a]).lower() in {"mer än", "fler än", "mindre än", "färre än"}:
        a -= 2
    if b < len(t) and (t[b].lower() == "som" or t[b][:1].isupper()) or t[b - 1].endswith((":", ";")):
        return None  # "två organisationer som arbetar ...", "tre länder Danmark, ...", "två block: ..."
    wh = f"hur många {np}"
    if a > 0 and t[a - 1].lower() in PREPOSITIONS:
        if t[a - 1].lower() not in {"i", "på", "till", "för", "med", "inom", "vid", "hos", "från", "efter", "under"}:
            return None
        prev = t[a - 2].lower() if a > 1 else ""
        if t[a - 1].lower() == "på" and not (lex.maybe_finite(prev) or lex.is_participle(prev) or lex.is_infinitive(prev)):
            return None  # "ett program på 17 veckor": the phrase belongs to a noun
        wh, a = f"{t[a - 1].lower()} hur många {np}", a - 1
    q = front(c, a, b, wh, lex)
    return (q, fact) if q else None


def person_question(s: str, lex: Lexicon) -> tuple[str, str] | None:
    people = list(PERSON_RE.finditer(s))
    appoint = list(APPOINT_RE.finditer(s))
    if len(people) + len(appoint) != 1 or len(s.split(" ")) > MAX_WORDS:
        return None
    said = SAYS_RE.search(s)
    if said:  # "– Vi satsar på X, säger socialminister Y." -> "Vem säger: ”Vi satsar på X”?"
        quote = s[: said.start()].lstrip("–- ").strip()
        words = quote.split(" ")
        first = words[0].lower().strip(",")
        if len(words) < 6 or first in (PRONOUNS | CONNECTIVES | {"och", "men", "eller", "så", "särskilt"}) - {"vi", "jag"}:
            return None
        if not quote[:1].isupper() or quote.endswith((".", ":", ";")) or any(ch in quote for ch in "”\"“"):
            return None
        if not any(lex.is_finite(w) for w in words):
            return None  # a fragment, not a sentence
        return f"Vem säger: ”{quote}”?", said.group(2)
    if not usable(s):
        return None
    c = core(s)
    if appoint:
        m = appoint[0]
        a, b = token_range(c, m.start(2), m.end(2))
        q = front(c, a, b, "vem", lex)
        return (q, m.group(2)) if q else None
    m = people[0]
    a, b = token_range(c, m.start(), m.end())
    t = c.split(" ")
    if a > 0 and t[a - 1].lower() in {"biträdande", "dåvarande", "tidigare", "förre", "förra", "nuvarande"}:
        a -= 1
    if a > 0 and (t[a - 1].lower() in PREPOSITIONS | {"och", "samt", "eller"} or t[a - 1].endswith(("s", ","))):
        return None  # "tillsammans med ministern X", "regeringens statssekreterare X"
    if m.group(1).endswith("s") and b < len(t) and t[b][:1].islower() and not lex.is_finite(t[b]):
        return None  # a genitive: "statsminister Ulf Kristerssons besök"
    if t[b - 1].endswith(",") or b < len(t) and t[b] in ("och", "samt", "eller"):
        return None  # "landshövding Per Bill, ordförande för ...", "minister X och minister Y": not one person
    q = front(c, a, b, "vem", lex)
    return (q, m.group(1)) if q else None


def identifier_questions(s: str) -> list[tuple[str, str]]:
    """Questions for the named documents whose numbers stand in parentheses in a sentence."""
    out = []
    found = list(IDENT_RE.finditer(s))
    kinds = Counter(m.group("id").split(" ")[0] if " " in m.group("id") else "dnr" for m in found)
    for m in found:
        ident = m.group("id")
        series = ident.split(" ")[0] if " " in ident else "dnr"
        if kinds[series] != 1:
            continue
        before = s[: m.start()].rstrip()
        words = before.split(" ")
        head = None
        for i in range(len(words) - 1, max(-1, len(words) - 22), -1):
            w = words[i].lower().strip("”\"(")
            for ending, definite in IDENT_HEADS:
                if w.endswith(ending) and (w == ending or len(w) > len(ending) + 3):
                    head = (i, definite if w == ending else w if w.endswith(definite[-2:]) else None)
                    break
            if head:
                break
        if not head or head[1] is None:
            continue
        i, definite = head
        title = " ".join(words[i + 1 :]).strip(" ,")
        if not title or not (title[:1].isupper() or title[:1] in "”\"") or len(title.split(" ")) > 20:
            continue
        if re.search(r"[,;:]$|\b(?:och|som|att)$", title):
            continue
        if series == "dnr":
            phrase = "Vilket diarienummer har"
        else:
            phrase = IDENT_PHRASE[series]
        noun = definite if definite.startswith(words[i].lower().strip("”\"(")[:3]) else words[i].lower()
        out.append((f"{phrase} {noun} {title}?", ident))
    return out


def diary_line_question(line: str) -> tuple[str, str] | None:
    m = DIARY_LINE_RE.match(line)
    if not m:
        return None
    title = squash(m.group("title"))
    if len(title.split(" ")) > MAX_WORDS:
        return None
    low = title[:1].lower() + title[1:]
    if low.startswith("uppdrag "):
        name = "uppdraget " + low[len("uppdrag ") :]
    elif low.startswith("ändring av uppdrag"):
        name = "ändringen av uppdrag" + low[len("ändring av uppdrag") :]
    else:
        name = f"regeringsbeslutet ”{title}”"
    return f"Vilket diarienummer har {name}?", m.group("id")


# --- per page ----------------------------------------------------------------------------------


def specific_words(q: str, lex: Lexicon) -> int:
    """How many words of a question say what it is about (not question words, verbs, months, generic nouns)."""
    words = {w.lower() for w in re.findall(r"[\wÅÄÖåäö:/-]+", q)}
    return sum(
        1 for w in words
        if re.search(r"[a-zåäö]", w) and (
            len(w) >= 4 and w not in STOPWORDS and w not in GENERIC and w not in MONTHS.split("|")
            and not w.endswith("departementet")
            and not lex.is_finite(w) and not lex.is_participle(w) and not lex.is_infinitive(w)
        )
    )


MIN_SPECIFIC = 4  # a question with fewer words that say what it is about gets the page's type and title


def with_context(q: str, fact: str, page: Page, shared_titles: set[str] = frozenset()) -> str | None:
    """The question with the page's type and title added, or None when the title cannot name the page."""
    title = re.sub(r"(?<=[a-zåäö)])(?:Skr\.|Prop\.|SOU|Ds|Dir\.|Diarienummer:).*$", "", squash(page.title))
    if fact in title:
        return None  # the title gives the answer away
    if title.casefold() in shared_titles:
        return None  # several pages have this title ("Nya ambassadörer till Sverige"): it names none of them
    if not title or len(title.split(" ")) > 16 or "”" in title:
        return None
    doc_type = page.file.split("__")[1] if page.file.startswith("rattsliga-dokument__") else page.file.split("__")[0]
    noun = DOC_TYPES.get(doc_type, "dokumentet")
    return f"{q[:-1]} {'i' if ' enligt ' in q else 'enligt'} {noun} ”{title}”?"


def page_candidates(page: Page, lex: Lexicon, shared_titles: set[str] = frozenset()) -> list[Candidate]:
    """Every question the page's sentences give."""
    out: list[Candidate] = []
    text = page.text
    for start, end in sentences(text):
        raw = text[start:end]
        if "\n" in raw.strip() and raw.count("\n") > 3:
            continue
        s = squash(raw)
        if not s:
            continue
        found: list[tuple[str, str, str]] = []
        dl = diary_line_question(s)
        if dl:
            found.append(("identifier", *dl))
        else:
            for kind, fn in (("amount", amount_question), ("date", date_question), ("count", count_question),
                             ("person", person_question)):
                r = fn(s, lex)
                if r:
                    found.append((kind, *r))
            if len(s.split(" ")) <= MAX_WORDS and not s.startswith(("–", "-")):
                found.extend(("identifier", q, f) for q, f in identifier_questions(s))
        for kind, q, fact in found:
            if kind != "identifier" and start > 0 and not s.endswith((".", "!")):
                continue  # not a whole sentence (only the title, the first line, may lack a stop)
            if fact not in raw:  # a fact that runs over a line break cannot be matched verbatim
                continue
            if len(q.split(" ")) < 4 or fact.lower() in q.lower() or raw.count(fact) > 1:
                continue  # the answer must not stand in the question, and the fact only once in the sentence
            in_context = with_context(q, fact, page, shared_titles) if kind != "identifier" else None
            if kind != "identifier" and specific_words(q, lex) < MIN_SPECIFIC:
                if in_context is None:
                    continue
                q = in_context
            out.append(Candidate(kind, q, raw, fact, start, in_context))
    return out


# --- the index ---------------------------------------------------------------------------------


def load_pages(index_dir: Path, src: Path) -> tuple[list[Page], dict[str, int]]:
    """The pages of src with their doc_id and canonical text in the index (files stored as duplicates map to
    the document that holds their text)."""
    sys.path.insert(0, str(ROOT))
    from assistant.stores import Index

    index = Index(index_dir)
    try:
        docs = index.manifest.documents()
        by_name = {Path(d.path).name: d for d in docs}
        aliases = {Path(p).name: a["doc_id"] for p, a in index.manifest.aliases().items()}
        pages: list[Page] = []
        stats = Counter({"pages": 0, "in index": 0, "duplicates": 0, "missing": 0})
        seen: set[str] = set()
        for path in sorted(src.glob("*.md")):
            stats["pages"] += 1
            doc = by_name.get(path.name)
            if doc is None:
                stats["duplicates" if path.name in aliases else "missing"] += 1
                continue
            if doc.doc_id in seen:
                continue
            seen.add(doc.doc_id)
            text = index.manifest.document_text(doc.doc_id) or ""
            pages.append(Page(path.name, doc.doc_id, doc.title or "", text))
            stats["in index"] += 1
    finally:
        index.close()
    return pages, dict(stats)


# --- selection and output ----------------------------------------------------------------------


def split_of(doc_id: str) -> str:
    """``dev`` or ``test``, from the parity of the last hex digit of the sha1 of the page's doc_id."""
    return "dev" if int(hashlib.sha1(doc_id.encode("utf-8")).hexdigest()[-1], 16) % 2 == 0 else "test"


def quotas(available: dict[str, int], total: int) -> dict[str, int]:
    """Spread total over the kinds evenly, as far as each kind's available pages allow."""
    q = dict.fromkeys(KINDS, 0)
    left = total
    while left > 0:
        open_kinds = [k for k in KINDS if q[k] < available.get(k, 0)]
        if not open_kinds:
            break
        share = max(1, left // len(open_kinds))
        for k in open_kinds:
            add = min(share, available.get(k, 0) - q[k], left)
            q[k] += add
            left -= add
            if left == 0:
                break
    return q


def settle(c: Candidate, page: Page, occurs_elsewhere) -> str | None:
    """The question to ask, or None: a sentence found word for word in another page is dropped, and a question whose
    wording around the fact recurs in another page ("Uppdraget ska redovisas senast den ...", "… tilldelas 115
    miljoner kronor …" in another year's press release) must name its page by type and title."""
    if occurs_elsewhere(c.sentence, page):
        return None
    if c.kind == "identifier" or c.question == c.in_context:
        return c.question
    at = c.sentence.find(c.fact)
    pieces = (c.sentence[:at].strip(), c.sentence[at + len(c.fact) :].strip(" .!"))
    if any(len(p) >= 25 and occurs_elsewhere(p, page) for p in pieces):
        return c.in_context
    return c.question


def select(pages: list[Page], cands: dict[str, list[Candidate]], total: int, per_page: int, seed: int,
           occurs_elsewhere) -> list[tuple[Page, Candidate]]:
    """Pick questions: pages in random order, at most per_page (of different kinds) from each, kinds evenly."""
    rng = random.Random(seed)
    order = list(pages)
    rng.shuffle(order)
    available = Counter(k for p in order for k in {c.kind for c in cands[p.doc_id]})
    quota = quotas(available, total)
    counts: Counter[str] = Counter()
    quotes, max_quotes = 0, quota["person"] // 2  # at most half the person questions ask who said a quote
    chosen: list[tuple[Page, Candidate]] = []
    questions: set[str] = set()
    for page in order:
        by_kind: dict[str, list[Candidate]] = defaultdict(list)
        for c in cands[page.doc_id]:
            by_kind[c.kind].append(c)
        kinds = [k for k in by_kind if counts[k] < quota[k]]
        rng.shuffle(kinds)
        kinds.sort(key=lambda k: counts[k] / max(1, quota[k]))
        taken = 0
        used_sentences: set[int] = set()
        for k in kinds:
            if taken >= per_page:
                break
            options = by_kind[k][:]
            rng.shuffle(options)
            options.sort(key=lambda c: c.question.startswith("Vem säger:"))  # a person who does something, first
            for c in options:
                quote = c.question.startswith("Vem säger:")
                if quote and quotes >= max_quotes:
                    continue
                if c.question in questions or c.start in used_sentences:
                    continue
                settled = settle(c, page, occurs_elsewhere)
                if settled is None or settled in questions:
                    continue
                c.question = settled
                quotes += quote
                chosen.append((page, c))
                questions.add(c.question)
                used_sentences.add(c.start)
                counts[k] += 1
                taken += 1
                break
        if all(counts[k] >= quota[k] for k in KINDS):
            break
    return chosen


def yaml_str(s: str) -> str:
    """A YAML double-quoted scalar (JSON string syntax is valid YAML)."""
    return json.dumps(s, ensure_ascii=False)


def write_yaml(path: Path, rows: list[dict], title: str) -> None:
    """Write questions in the format of eval/questions.yaml."""
    lines = [
        f"# {title}",
        "# Written by eval/datasets/make_regeringen_facts.py from the regeringen-sv pages; see eval/datasets/README.md.",
        "# `supporting` passages are verbatim substrings of the gold document's canonical text in the full index;",
        "# `facts` are verbatim substrings of a supporting passage.",
        "version: 1",
        "questions:",
    ]
    for r in rows:
        lines += [
            "",
            f"  - id: {r['id']}",
            "    language: sv",
            f"    question: {yaml_str(r['question'])}",
            "    answerable: true",
            f"    kind: {r['kind']}",
            f"    gold_docs: [{yaml_str(r['gold_docs'][0])}]",
            "    supporting:",
            f"      - {yaml_str(r['supporting'][0])}",
            f"    facts: [{yaml_str(r['facts'][0])}]",
        ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--src", type=Path, default=DEFAULT_SRC, help="folder of regeringen-sv Markdown pages")
    parser.add_argument("--index", type=Path, default=DEFAULT_INDEX, help="index of all the pages (assistant ingest)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help="output folder for dev.yaml, test.yaml, all.yaml")
    parser.add_argument("--seed", type=int, default=0, help="random seed for picking pages and sentences")
    parser.add_argument("--total", type=int, default=400, help="number of questions to aim for")
    parser.add_argument("--per-page", type=int, default=2, help="at most this many questions from one page")
    args = parser.parse_args(argv)

    src, out, index_dir = (p if p.is_absolute() else ROOT / p for p in (args.src, args.out, args.index))
    problem = path_problem(src, out)
    if problem:
        print(f"error: {problem}", file=sys.stderr)
        return 2
    try:
        pages, stats = load_pages(index_dir, src)
    except Exception as exc:  # no index, or an unreadable one
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if not pages:
        print(f"error: none of the pages in {src} is in the index {index_dir}; ingest them first", file=sys.stderr)
        return 2

    lex = Lexicon([p.text for p in pages])
    title_counts = Counter(squash(p.title).casefold() for p in pages)
    shared_titles = {t for t, n in title_counts.items() if n > 1}
    cands = {p.doc_id: page_candidates(p, lex, shared_titles) for p in pages}
    everything = "\x00".join(p.text for p in pages)

    def occurs_elsewhere(sentence: str, page: Page) -> bool:
        return everything.count(sentence) > page.text.count(sentence)

    chosen = select(pages, cands, args.total, args.per_page, args.seed, occurs_elsewhere)
    chosen.sort(key=lambda pc: (KINDS.index(pc[1].kind), pc[0].file, pc[1].start))
    rows: list[dict] = []
    numbers: Counter[str] = Counter()
    for page, c in chosen:
        numbers[c.kind] += 1
        assert c.sentence in page.text and c.fact in c.sentence
        rows.append({
            "id": f"rf-{c.kind}-{numbers[c.kind]:04d}", "question": c.question, "kind": c.kind,
            "gold_docs": [page.doc_id], "supporting": [c.sentence], "facts": [c.fact],
            "split": split_of(page.doc_id),
        })

    out.mkdir(parents=True, exist_ok=True)
    write_yaml(out / "all.yaml", rows, "regeringen-facts: typed fact questions over regeringen-sv (dev and test)")
    for split in ("dev", "test"):
        write_yaml(out / f"{split}.yaml", [r for r in rows if r["split"] == split],
                   f"regeringen-facts, {split} split ({'for tuning' if split == 'dev' else 'for reporting only'})")

    available = Counter(c.kind for cs in cands.values() for c in cs)
    pages_with = Counter(k for cs in cands.values() for k in {c.kind for c in cs})
    print(f"source:   {src}")
    print(f"index:    {index_dir} ({', '.join(f'{k} {v}' for k, v in stats.items())})")
    print(f"seed:     {args.seed}")
    print(f"{'kind':<12}{'candidates':>11}{'pages':>7}{'dev':>6}{'test':>6}{'all':>6}")
    for k in KINDS:
        n = Counter(r["split"] for r in rows if r["kind"] == k)
        print(f"{k:<12}{available[k]:>11}{pages_with[k]:>7}{n['dev']:>6}{n['test']:>6}{n['dev'] + n['test']:>6}")
    n = Counter(r["split"] for r in rows)
    print(f"{'all':<12}{sum(available.values()):>11}{len(pages):>7}{n['dev']:>6}{n['test']:>6}{len(rows):>6}")
    print(f"out:      {out} (dev.yaml, test.yaml, all.yaml)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
