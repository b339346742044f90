"""`assistant chat`: conversation state, follow-up rewriting, slash commands and stored sessions.

The library half of the chat: nothing here prints. The terminal half (prompt, colours) lives in
`cli.chat` and `render.ChatView`; `Chat.run()` ties them together through a reader and a view.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from .answering import Answer, Citation, check_question
from .errors import AssistantError, QuestionError
from .language import LANGUAGES, STOPWORDS, YEAR, detect_language, match_terms
from .prompts import labels, prompt
from .retrieval import Filters, check_filters

APP_DIR = "policy-assistant"
MAX_CONTEXT_TERMS = 10


# --- where things are ---------------------------------------------------------------------------


def data_dir() -> Path:
    """The user's data folder for the assistant: $XDG_DATA_HOME/policy-assistant or ~/.local/share/…"""
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / APP_DIR


def default_chat_db() -> Path:
    """Where chat sessions are stored unless `ASSISTANT_CHAT_DB` / `[chat] db` says otherwise."""
    return data_dir() / "chat.sqlite"


def history_file() -> Path:
    """The prompt's input history (one file for all sessions), beside the session database."""
    return data_dir() / "chat_history"


# --- follow-up detection and rewriting ------------------------------------------------------------

_QUESTION_WORDS = frozenset(
    "hvad hvor hvordan hvilke hvilken hvilket hvem hvorfor hvornår hvorledes "
    "vad hur vilka vilken vilket vem varför när var "
    "what how which who whom whose why when where".split()
)
_LEAD = re.compile(
    r"^\s*(og|men|så|samt|også|och|men|sedan|också|and|but|so|also|then|"
    r"hvad med|hvad så med|hvordan med|vad sägs om|vad gäller|hur är det med|hur blir det med|"
    r"what about|how about)\b[\s,]*",
    re.I,
)
# Words that point back at something said before. ("de" is left out: it is also an article.)
_ANAPHORA = frozenset(
    "det den dem dette denne disse deres dens dets han hun ham hende hans hendes samme "
    "detta denna dessa dess hon honom henne hennes "
    "it its they them their this that these those he she him her his same there".split()
)
_ALL_STOP = frozenset().union(*STOPWORDS.values()) | frozenset(
    "mon monne gerne egentlig egentligen ens actually please tell me kan du kunne du fortælle berätta".split()
)
_KEY_TOKEN = re.compile(
    r"§\s*\d+[a-z]?(?:-[^\W\d_]+)?"  # § 18, § 18-støtte
    r"|\d+(?:[.,:/-]\d+)*(?:\s*(?:millioner|miljoner|millions?|mill|mio|mia|kroner|kronor|kr|procent|%)\.?)?"
    r"|[^\W\d_]+(?:-[^\W_]+)*",
    re.U,
)


def key_terms(text: str) -> list[str]:
    """The terms that carry a text's subject: § references, numbers, names and content words."""
    out: list[str] = []
    seen: set[str] = set()
    for m in _KEY_TOKEN.finditer(text):
        tok = " ".join(m.group(0).split()).rstrip(".")
        low = tok.lower()
        if low in seen:
            continue
        if tok[0].isalpha():
            if low in _ALL_STOP or low in _QUESTION_WORDS or len(low) < 3:
                continue
        seen.add(low)
        out.append(tok)
    return out


def _is_entity(term: str) -> bool:
    return term.startswith("§") or term[0].isdigit() or term[:1].isupper()


def _term_keys(term: str) -> set[str]:
    return match_terms(term, LANGUAGES) | {term.lower()}


def is_followup(question: str, has_history: bool = True, previous: str | None = None) -> bool:
    """Whether a question leans on the conversation before it (pronouns, "og …", too few terms).

    With the previous question given, a short question without a name, number or § of its own that
    takes up one of its words ("Hvem udarbejdede selve redegørelsen?" after a question about the
    2007 § 18-redegørelse) leans on it too: the thing it names is the one just asked about.
    """
    if not has_history:
        return False
    if _LEAD.match(question):
        return True
    words = re.findall(r"[^\W\d_]+", question.lower())
    terms = key_terms(question)
    own_entity = any(t.startswith("§") or t[0].isdigit() for t in terms) or bool(
        re.search(r"(?<!^)(?<![.?!]\s)\b[A-ZÆØÅÄÖ][a-zæøåäöé]{2,}", question.strip())
    )
    if any(w in _ANAPHORA for w in words) and len(terms) <= 4:
        return True
    if len(terms) <= 1 or (len(terms) <= 2 and not own_entity) or (_relative_year(question) is not None and len(terms) <= 4):
        return True
    if previous and not own_entity and len(terms) <= 4:
        prev_keys = _plain_keys_of(previous)
        return any(_plain_keys(t) & prev_keys for t in terms)
    return False


def _is_elliptical(rest: str) -> bool:
    """A fragment such as "in 2010?" / "i Sverige?" / "Lars Pettersson på Röda Korset?": no question word, a few words."""
    words = re.findall(r"[^\W_]+", rest.lower())
    return bool(words) and len(words) <= 6 and not any(w in _QUESTION_WORDS for w in words)


def _plain_keys(term: str) -> set[str]:
    """A term's stems without the cognate keys ("~cirku" would make "cirkulär" the same as "cirkulärnummer")."""
    return {k for k in _term_keys(term) if not k.startswith("~")}


def _plain_keys_of(text: str) -> set[str]:
    out: set[str] = set()
    for t in key_terms(text):
        out |= _plain_keys(t)
    return out


# --- what a question asks for, and what it is about -----------------------------------------------------

_WHICH = frozenset("hvilken hvilket hvilke vilken vilket vilka which what whose".split())
_HOW = frozenset("hvor hur how".split())
# Words that belong to a question phrase ("hvor mange", "how much", "vilka två"), never to its subject.
_MODIFIERS = frozenset(
    "meget mange længe lang langt stor store stort ofte gammel gamle tit "
    "mycket många länge lång långt stora ofta gammal "
    "much many long large big often old far "
    "to tre fire fem seks två fyra sex one two three four five six".split()
)
# Auxiliaries and copulas: after these a question names its subject or the role asked about, so they are not
# the verb that says what was asked ("Vem är handläggare …" asks who holds the role; "han" is that person).
_AUX = frozenset(
    "er var har havde blev bliver kan skal skulle vil ville må bør "
    "är var har hade blev blir kan ska skall skulle vill ville måste bör "
    "is are was were has have had did does do will can shall would could should may might".split()
)
_PARTICLES = frozenset("fram ut ud op up out in ind frem med aside".split())
_COPULA = frozenset("er var blev bliver är blir is was became".split())
_ARTICLES = frozenset("en et ett den det the a an".split())
_PERSONAL = frozenset("han hun ham hende hans hendes hon honom henne hennes he she him her his".split())
_NAME = re.compile(r"\b[A-ZÆØÅÄÖÉ][\wæøåäöé]+(?:-[A-ZÆØÅÄÖÉ][\wæøåäöé]+)?(?:\s+[A-ZÆØÅÄÖÉ][\wæøåäöé]+(?:-[A-ZÆØÅÄÖÉ][\wæøåäöé]+)?)+")
# Countries and their adjectives: "og i Sverige?" after a question about "de danske kommuner" swaps one for the other.
_PLACES = (
    frozenset("danmark dansk danske danska denmark danish danes".split()),
    frozenset("sverige svensk svenske svenska sweden swedish swedes".split()),
    frozenset("norge norsk norske norska norway norwegian".split()),
    frozenset("finland finsk finske finska finnish".split()),
    frozenset("island islandsk islandske isländsk isländska iceland icelandic".split()),
    frozenset("tyskland tysk tyske tyska germany german".split()),
)
_RELATIVE_YEAR = (
    (re.compile(r"\b(?:året|år)\s+(?:før|forinden|inden|innan|före|förut|tidligere|tidigare)\b"
                r"|\bthe\s+(?:year|previous\s+year)\s+(?:before|earlier)\b|\bthe\s+previous\s+year\b"
                r"|\b(?:forrige|sidste)\s+år\b|\bförra\s+året\b|\blast\s+year\b", re.I), -1),
    (re.compile(r"\b(?:året|år)\s+(?:efter|derpå|derefter|därpå|därefter)\b|\bthe\s+(?:year\s+after|following\s+year|next\s+year)\b"
                r"|\bnæste\s+år\b|\bnästa\s+år\b|\bnext\s+year\b", re.I), 1),
)


def _relative_year(question: str) -> int | None:
    """-1 for "året før / the year before / förra året", +1 for "året efter / the following year", else None."""
    for rx, delta in _RELATIVE_YEAR:
        if rx.search(question):
            return delta
    return None


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W_]+(?:[-:/.,][^\W_]+)*", text)


def question_phrase(question: str) -> str:
    """The question word with its modifiers ("hvor mange", "how much", "vilka två"), lower case; '' when none."""
    toks = [w.lower() for w in _words(question)]
    i = next((n for n, w in enumerate(toks) if w in _QUESTION_WORDS), None)
    if i is None:
        return ""
    j = i + 1
    while j < len(toks) and toks[j] in _MODIFIERS:
        j += 1
    return " ".join(toks[i:j])


def asked_terms(question: str) -> set[str]:
    """The words that say what a question asks for rather than what it is about, lower case.

    The noun of "hvilket journalnummer / how much money", and the verb right after the question phrase
    ("Hvem underskrev …", "Hvor meget udbetalte …", "När genomförde …"); not an auxiliary or copula.
    """
    words = _words(question)
    low = [w.lower() for w in words]
    i = next((n for n, w in enumerate(low) if w in _QUESTION_WORDS), None)
    if i is None:
        return set()
    out: set[str] = set()
    j = i + 1
    modified = False
    while j < len(low) and low[j] in _MODIFIERS:
        out.add(low[j])
        j += 1
        modified = True
    # the kind of thing asked for: "Hvilket journalnummer …", "Vilka två aktörer …", "Hvor mange penge vil …",
    # "how much money did …" (after "hvor meget" only when an auxiliary follows: "Hvor meget udbetalte" is a verb)
    if j < len(low) and words[j][:1].islower() and low[j] not in _AUX and low[j] not in _ALL_STOP and (
            low[i] in _WHICH or (low[i] in _HOW and modified and j + 1 < len(low) and low[j + 1] in _AUX)):
        out.add(low[j])
        j += 1
    if j < len(low) and low[j] not in _AUX and words[j][:1].islower() and low[j] not in _ALL_STOP:
        out.add(low[j])  # the verb of the question: "underskrev", "udbetalte", "genomförde", "signed"
        if j + 1 < len(low) and low[j + 1] in _PARTICLES:
            out.add(low[j + 1])  # "tog fram", "betalte ud", "set aside"
    return out


def asked_role(question: str) -> str:
    """The role a who-question asks about: "handläggare" in "Vem var handläggare för …?", lower case; '' if none."""
    words = _words(question)
    low = [w.lower() for w in words]
    for n, w in enumerate(low[:-2]):
        if w in ("hvem", "vem", "who") and low[n + 1] in _COPULA:
            k = n + 2
            while k < len(low) and low[k] in _ARTICLES:
                k += 1
            if k < len(low) and low[k] not in _ALL_STOP and words[k][:1].islower():
                return low[k]
    return ""


def names_in(text: str) -> list[str]:
    """Names of two or more capitalised words in a text ("Charlotte Markussen", "Karl-Axel Johansson")."""
    out: list[str] = []
    for m in _NAME.finditer(text):
        parts = m.group(0).split()
        while parts and parts[0].lower() in _ALL_STOP:  # "Ved Charlotte Markussen": a sentence's first word
            parts = parts[1:]
        if len(parts) >= 2 and " ".join(parts) not in out:
            out.append(" ".join(parts))
    return out


def _restates(question: str, previous: str) -> bool:
    """A question with no pronoun and no "og …" that names again something the previous one asked about."""
    if _LEAD.match(question) or set(re.findall(r"[^\W\d_]+", question.lower())) & _ANAPHORA:
        return False
    return bool(_plain_keys_of(question) & _plain_keys_of(previous))


def _place_group(word: str) -> int | None:
    w = word.lower()
    return next((i for i, g in enumerate(_PLACES) if w in g), None)


def _swap_entities(base: str, fragment: str) -> str:
    """The base question with the entities a fragment replaces taken out: a country for a country, a name for a name."""
    frag_places = {g for w in _words(fragment) if (g := _place_group(w)) is not None}
    if frag_places:
        base = " ".join(w for w in base.split() if (g := _place_group(w.strip("?.,!"))) is None or g in frag_places)
    if names_in(fragment):
        for name in names_in(base):
            base = base.replace(name, " ")
    return " ".join(base.split())


@dataclass
class PastTurn:
    """What rewriting needs to know about an earlier turn."""

    question: str
    searched: str
    answer: Answer | None = None
    followup: bool = False


def rewrite_followup(question: str, previous: list[PastTurn], use_answer: bool = True) -> str:
    """The question made self-contained from the turns before it (most recent last).

    A standalone question comes back unchanged. A fragment ("and in 2010?", "og i Sverige?", "Och Lars
    Pettersson?") is put into the previous question in place of the year, country or name it replaces.
    Any other follow-up gets, in brackets, the key terms (subject, names, numbers, § references) of the
    conversation's topic (its last standalone question) and of the previous follow-up. When it asks
    something else than they did ("Hvem har skrevet det?" after "Hvor meget udbetalte …?"), the words
    that said what they asked for ("udbetalte", "journalnummer") stay behind and only the subject comes
    along. "han / hun / his" brings the names of the previous answer, "det" after an amount the amounts
    it cited, and "året før / the year before" the year before the one asked about.
    """
    q = " ".join(question.split())
    if not previous or not is_followup(q, previous=previous[-1].question):
        return q
    prev = previous[-1]
    lead = _LEAD.match(q)
    rest = q[lead.end():] if lead else q
    new_terms = key_terms(rest)
    new_years = [t for t in new_terms if YEAR.fullmatch(t)]
    shift = _relative_year(q)
    if lead and _is_elliptical(rest):
        # The previous question as it was searched, without the amounts its answer lent it.
        base = rewrite_followup(prev.question, previous[:-1], use_answer=False) if prev.followup else prev.question
        if shift is not None and not new_years and YEAR.search(base):  # "og året før?"
            new_years = [str(int(YEAR.search(base).group(0)) + shift)]
            rest_words = rest
            for rx, _ in _RELATIVE_YEAR:
                rest_words = rx.sub(" ", rest_words)
            new_terms = new_years + key_terms(rest_words)
        if new_years:
            found = list(re.finditer(r"\b(?:1[89]|20)\d\d\b", base))
            if found:
                first = found[0]
                base = base[: first.start()] + new_years[0] + re.sub(
                    r"\b(?:1[89]|20)\d\d\b", "", base[first.end():]
                )
                new_terms = [t for t in new_terms if t != new_years[0]]
        base = _swap_entities(base, rest)
        extra = " ".join(t for t in new_terms if not (_plain_keys(t) & _plain_keys_of(base)))
        base = base.rstrip("?. ")
        if base.endswith(")"):
            return f"{base[:-1]} {extra})" if extra else base
        return f"{base} {extra}?" if extra else f"{base}?"
    topic = next((t for t in reversed(previous) if not t.followup), previous[0])
    asked_before: set[str] = set()
    new_phrase = question_phrase(rest)
    for t in {id(topic): topic, id(prev): prev}.values():
        if new_phrase and question_phrase(t.question).split()[:1] != new_phrase.split()[:1]:
            asked_before |= asked_terms(t.question)  # a new kind of question: keep the subject, not the old ask
    own_role = asked_role(rest)
    for t in {id(topic): topic, id(prev): prev}.values():
        if own_role and asked_role(t.question) not in ("", own_role):
            asked_before.add(asked_role(t.question))  # "Vem blev projektledare?" after "Vem var handläggare …?"
    candidates = [t for t in key_terms(topic.searched) if t.lower() not in asked_before]
    if prev is not topic:
        candidates += [t for t in key_terms(prev.question) if t.lower() not in asked_before]
    if _restates(q, prev.question):
        # "Hvem udarbejdede selve redegørelsen?": it names the thing again; only its § and year are missing.
        candidates = [t for t in candidates if t.startswith("§") or t[0].isdigit()]
    ans = prev.answer
    answered = use_answer and ans is not None and not ans.refused and ans.citations
    words = set(re.findall(r"[^\W\d_]+", q.lower()))
    if answered and words & _PERSONAL:
        # "Hvilken stilling har hun?": she is the person the previous answer named.
        candidates = names_in(" ".join(c.quote for c in ans.citations[:1]))[:2] + candidates
    if answered and shift is None and _asks_about_that_amount(q):
        # "hvor mange procent er det?": "det" is the figure just answered, the amounts of the first cited passage.
        candidates += [t for t in key_terms(ans.citations[0].quote) if t[0].isdigit() and not YEAR.fullmatch(t)][:2]
    if shift is not None and not new_years:
        years = [t for t in candidates if YEAR.fullmatch(t)]
        if years:
            new_years = [str(int(years[0]) + shift)]
            candidates = new_years + candidates
    have = _plain_keys_of(q)
    # Names, numbers and § references are taken first (they single out the subject when the context is cut
    # short), then the rest; the context keeps the order the words were said in.
    ranked = sorted(range(len(candidates)), key=lambda n: (not _is_entity(candidates[n]), n))
    picked: list[tuple[int, str]] = []
    for n in ranked:
        t = candidates[n]
        if (new_years and YEAR.fullmatch(t) and t not in new_years) or t.lower() in _MODIFIERS:
            continue
        keys = _plain_keys(t)
        if keys & have:
            para = re.match(r"§\s*\d+[a-z]?", t)
            if para and not (_plain_keys(para.group(0)) & have):  # "§ 18-redegørelsen" after "redegørelsen?"
                have |= _plain_keys(para.group(0))
                picked.append((n, para.group(0)))
            continue
        have |= keys
        picked.append((n, t))
        if len(picked) >= MAX_CONTEXT_TERMS:
            break
    context = [t for _, t in sorted(picked)]
    if not context:
        return q
    return f"{q} ({' '.join(context)})"


_NEUTER_THAT = frozenset("det dette detta it that this".split())
_ASKS_AMOUNT = re.compile(r"\b(hvor (meget|mange)|hur (mycket|många)|how (much|many)|procent|percent|andel)", re.I)


def _asks_about_that_amount(question: str) -> bool:
    words = set(re.findall(r"[^\W\d_]+", question.lower()))
    return bool(words & _NEUTER_THAT) and bool(_ASKS_AMOUNT.search(question))


# --- condensing with a chat model (LLM mode) ----------------------------------------------------------


def condense_prompt(question: str, previous: list[PastTurn], lang: str, turns: int = 4) -> str:
    """The condense prompt (prompts/condense_<lang>.md) filled with the last turns and the question."""
    try:
        template = prompt(f"condense_{lang}.md")
    except OSError:
        template = prompt("condense_en.md")
    lines = []
    for t in previous[-turns:]:
        lines.append(f"Q: {t.question}")
        if t.answer is not None:
            text = re.sub(r"\s*\[\d+\]", "", t.answer.answer)
            lines.append(f"A: {text[:600]}")
    return template.replace("{history}", "\n".join(lines)).replace("{question}", question)


def clean_condensed(text: str, question: str) -> str:
    """The model's standalone question: its first non-empty line, without quotes or labels."""
    for line in text.strip().splitlines():
        line = line.strip().strip('"“”«»').strip()
        line = re.sub(r"^(standalone question|selvstændigt spørgsmål|självständig fråga|spørgsmål|fråga|question)\s*:\s*",
                      "", line, flags=re.I).strip('"“”«» ')
        if line:
            return line[:1000]
    return question


def _failure_in_words(exc: BaseException) -> str:
    """What went wrong with the chat model, said in words rather than an exception's class name."""
    kind = type(exc).__name__.lower()
    if isinstance(exc, TimeoutError) or "timeout" in kind:
        return "it did not answer in time"
    if isinstance(exc, ConnectionError) or "connect" in kind:
        return "its server could not be reached"
    text = " ".join(str(exc).split())
    return f"it failed: {text[:160]}" if text else "it failed without saying why"


def llm_complete(answerer: Any, settings: Any, text: str) -> str:
    """One completion from the chat model behind an LLM answerer (or one made from the settings)."""
    from .llm import make_chat_model, message_text, strip_thinking

    model = answerer.chat_model() if hasattr(answerer, "chat_model") else make_chat_model(settings.llm)
    out = model.invoke(text)
    return strip_thinking(message_text(getattr(out, "content", out)))


# --- slash commands -------------------------------------------------------------------------------------

COMMANDS = ("sources", "open", "filter", "llm", "reset", "clear", "save", "help", "quit")
BARE_COMMANDS = {"exit": "quit", "quit": "quit", "clear": "clear"}  # typed without the slash, alone on a line
HELP = """\
Ask a question, then ask on: follow-ups ("Og hvad er formålet med det?", "Vem finansierade det?",
"and in 2010?") are read with the conversation; the rewritten search is shown faintly.

/sources                 the passages behind the last answer, in full
/open N                  the document text around citation N, the quote highlighted
/filter                  show the filters;  /filter off  clears them
/filter lang=da type=municipal_policy since=2009 until=2010-12-31 source='corpus/da-*'
                         set filters (others stay; key=off clears one)
/llm on|off              let the configured chat model write answers (checked against the passages)
/reset                   forget the conversation (a new session starts)
/clear                   clear the context (also `clear`): the next question stands alone, in a new session
/save FILE               write the conversation as Markdown with its citations
/help                    this text
/quit                    leave (also /exit, exit, quit, Ctrl-D); Ctrl-C cancels an answer in progress"""


@dataclass
class Command:
    """A parsed slash command."""

    name: str
    args: list[str] = field(default_factory=list)


def parse_command(line: str) -> Command | None:
    """The slash command on a line, None when the line is a question; unknown commands raise."""
    text = line.strip()
    if text.lower() in BARE_COMMANDS:
        return Command(BARE_COMMANDS[text.lower()])
    if not text.startswith("/") or text.startswith("//"):
        return None
    import shlex

    try:
        parts = shlex.split(text[1:])
    except ValueError:
        parts = text[1:].split()
    if not parts:
        raise QuestionError("an empty command; /help lists them")
    name = parts[0].lower()
    aliases = {"q": "quit", "exit": "quit", "h": "help", "?": "help", "source": "sources", "filters": "filter"}
    name = aliases.get(name, name)
    if name not in COMMANDS:
        raise QuestionError(f"unknown command /{parts[0]}; /help lists them")
    return Command(name, parts[1:])


FILTER_KEYS = ("lang", "type", "since", "until", "source")


def parse_filters(args: list[str], current: Filters, known_types: Iterable[str] = ()) -> Filters:
    """New filters from `/filter` words: `off`, or `key=value` pairs changing the current ones."""
    if len(args) == 1 and args[0].lower() in ("off", "none", "clear", "reset"):
        return Filters()
    values = {k: getattr(current, k) for k in FILTER_KEYS}
    for arg in args:
        key, sep, value = arg.partition("=")
        key = key.strip().lower()
        if key == "language":
            key = "lang"
        if not sep or key not in FILTER_KEYS:
            raise QuestionError(f"{arg}: expected key=value with key one of {', '.join(FILTER_KEYS)} (or /filter off)")
        value = value.strip()
        if value.lower() in ("", "off", "none", "any", "all"):
            values[key] = None
            continue
        values[key] = value
    return check_filters(Filters(**values), known_types)


# --- sessions in SQLite ---------------------------------------------------------------------------------

_SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,
    updated TEXT NOT NULL,
    title TEXT NOT NULL DEFAULT '',
    index_dir TEXT,
    filters TEXT NOT NULL DEFAULT '{}',
    llm INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS turns (
    session_id INTEGER NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    created TEXT NOT NULL,
    question TEXT NOT NULL,
    searched TEXT NOT NULL,
    followup INTEGER NOT NULL DEFAULT 0,
    filters TEXT NOT NULL DEFAULT '{}',
    answer TEXT NOT NULL,
    PRIMARY KEY (session_id, seq)
);
"""


def _now() -> str:
    return datetime.now().astimezone().isoformat(timespec="seconds")


def filters_to_json(f: Filters) -> dict:
    """The filters that are set, as a dict."""
    return {k: v for k, v in asdict(f).items() if v}


def filters_from_json(d: dict | None) -> Filters:
    """Filters from a stored dict (unknown keys ignored)."""
    return Filters(**{k: v for k, v in (d or {}).items() if k in FILTER_KEYS})


def answer_from_json(d: dict) -> Answer:
    """An Answer back from its `ask --json` object."""
    cite = lambda c: Citation(**{k: c.get(k) for k in Citation.__dataclass_fields__})  # noqa: E731
    ans = Answer(
        question=d["question"], language=d.get("language", "da"), answer=d.get("answer", ""),
        refused=bool(d.get("refused")), citations=[cite(c) for c in d.get("citations", [])],
        confidence=float(d.get("confidence", 0.0)), see_also=[cite(c) for c in d.get("see_also", [])],
        mode=d.get("mode", "extractive"), unsupported=list(d.get("unsupported", [])),
        searched=d.get("searched") or d["question"],
    )
    if d.get("refusal_reason") and hasattr(ans, "refusal_reason"):
        ans.refusal_reason = d["refusal_reason"]
    return ans


@dataclass
class Turn:
    """One question and its answer in a session."""

    seq: int
    question: str
    searched: str
    followup: bool
    answer: Answer
    filters: Filters = field(default_factory=Filters)
    created: str = ""

    def past(self) -> PastTurn:
        """The turn as rewriting sees it."""
        return PastTurn(self.question, self.searched, self.answer, self.followup)


@dataclass
class SessionInfo:
    """A stored session as `--list` shows it."""

    id: int
    created: str
    updated: str
    title: str
    turns: int
    index_dir: str | None
    filters: dict
    llm: bool

    def to_json(self) -> dict:
        """The session as a JSON object."""
        return asdict(self)


class SessionStore:
    """Chat sessions and their turns in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path).expanduser()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(self.path), timeout=10, isolation_level=None)
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.executescript(_SCHEMA)
        except (OSError, sqlite3.DatabaseError) as exc:
            raise AssistantError(f"{self.path}: cannot open the chat session store ({exc}); set ASSISTANT_CHAT_DB") from None

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    def create(self, title: str, index_dir: str | None, filters: Filters, llm: bool) -> int:
        """A new session; returns its id."""
        now = _now()
        cur = self.db.execute(
            "INSERT INTO sessions(created, updated, title, index_dir, filters, llm) VALUES (?,?,?,?,?,?)",
            (now, now, title[:200], index_dir, json.dumps(filters_to_json(filters)), int(llm)),
        )
        return int(cur.lastrowid)

    def add_turn(self, session_id: int, turn: Turn) -> None:
        """Store a turn and touch its session."""
        self.db.execute(
            "INSERT OR REPLACE INTO turns VALUES (?,?,?,?,?,?,?,?)",
            (session_id, turn.seq, turn.created or _now(), turn.question, turn.searched, int(turn.followup),
             json.dumps(filters_to_json(turn.filters)), json.dumps(turn.answer.to_json(), ensure_ascii=False)),
        )
        self.db.execute("UPDATE sessions SET updated=? WHERE id=?", (_now(), session_id))

    def set_state(self, session_id: int, filters: Filters, llm: bool) -> None:
        """Remember a session's filters and mode (for --resume)."""
        self.db.execute(
            "UPDATE sessions SET filters=?, llm=? WHERE id=?", (json.dumps(filters_to_json(filters)), int(llm), session_id)
        )

    def sessions(self) -> list[SessionInfo]:
        """All sessions, most recently used first."""
        rows = self.db.execute(
            "SELECT s.id, s.created, s.updated, s.title, COUNT(t.seq), s.index_dir, s.filters, s.llm "
            "FROM sessions s LEFT JOIN turns t ON t.session_id = s.id GROUP BY s.id ORDER BY s.updated DESC, s.id DESC"
        ).fetchall()
        return [SessionInfo(r[0], r[1], r[2], r[3], r[4], r[5], json.loads(r[6] or "{}"), bool(r[7])) for r in rows]

    def session(self, session_id: int | None = None) -> SessionInfo:
        """One session (the most recent when no id is given), or an error naming what exists."""
        all_ = self.sessions()
        if not all_:
            raise AssistantError(f"no stored chat sessions in {self.path}")
        if session_id is None:
            return all_[0]
        for s in all_:
            if s.id == session_id:
                return s
        raise AssistantError(f"no chat session {session_id} in {self.path}; `assistant chat --list` shows them")

    def turns(self, session_id: int) -> list[Turn]:
        """A session's turns in order."""
        rows = self.db.execute(
            "SELECT seq, question, searched, followup, filters, answer, created FROM turns WHERE session_id=? ORDER BY seq",
            (session_id,),
        ).fetchall()
        return [
            Turn(r[0], r[1], r[2], bool(r[3]), answer_from_json(json.loads(r[5])), filters_from_json(json.loads(r[4])), r[6])
            for r in rows
        ]


# --- what the chat shows ------------------------------------------------------------------------------


@dataclass
class Passage:
    """A stretch of a document's canonical text, with the quote's place in it."""

    n: int
    doc_id: str
    title: str
    source: str
    page: int | None
    start: int
    end: int
    text: str
    quote_start: int
    quote_end: int
    language: str = "da"
    marks: list[tuple[int, int, int]] = field(default_factory=list)  # (citation n, start, end) in text

    def to_json(self) -> dict:
        """The passage as a JSON object."""
        return asdict(self)


@dataclass
class Reply:
    """What one line of input produced: kind is answer, sources, open, filters, llm, saved, message, help, reset, clear, quit."""

    kind: str
    answer: Answer | None = None
    passages: list[Passage] = field(default_factory=list)
    message: str = ""
    filters: Filters | None = None
    turn: int = 0
    notes: list[str] = field(default_factory=list)

    def to_json(self, session_id: int | None = None) -> dict:
        """One JSON object for piped `--json` mode."""
        if self.kind == "answer" and self.answer is not None:
            out = {"session": session_id, "turn": self.turn, **self.answer.to_json()}
        else:
            out = {"command": self.kind, "session": session_id}
            if self.passages:
                out["passages"] = [p.to_json() for p in self.passages]
            if self.filters is not None:
                out["filters"] = filters_to_json(self.filters)
            if self.message:
                out["message"] = self.message
        if self.notes:
            out["notes"] = self.notes
        return out


class ChatView(Protocol):
    """Where `Chat.run` sends what it has to show (render.ChatView, render.ChatJsonView)."""

    def show(self, reply: Reply, chat: Chat) -> None: ...

    def error(self, message: str) -> None: ...

    def cancelled(self) -> None: ...

    def streaming(self, chat: Chat) -> Any: ...


# --- the conversation -----------------------------------------------------------------------------------


class Chat:
    """A conversation over one index: asks, rewrites follow-ups, runs slash commands, stores turns."""

    def __init__(
        self,
        retriever: Any,
        settings: Any,
        store: SessionStore | None = None,
        filters: Filters | None = None,
        llm: bool = False,
        k: int = 8,
    ) -> None:
        self.retriever = retriever
        self.settings = settings
        self.store = store
        self.filters = filters or Filters()
        self.k = k
        self.turns: list[Turn] = []
        self.session_id: int | None = None
        self._extractive = None
        self._llm_answerer = None
        self.llm = False
        if llm:
            self.set_llm(True)

    # state
    @property
    def answerer(self) -> Any:
        """The answerer in use: the chat model's when LLM mode is on, else the extractive one."""
        if self.llm and self._llm_answerer is not None:
            return self._llm_answerer
        if self._extractive is None:
            from .answering import Answerer

            self._extractive = Answerer(self.retriever)
        return self._extractive

    @property
    def last(self) -> Turn | None:
        """The latest turn."""
        return self.turns[-1] if self.turns else None

    def resume(self, session_id: int | None = None) -> SessionInfo:
        """Continue a stored session (the latest when no id is given): its turns, filters and mode."""
        if self.store is None:
            raise AssistantError("no session store")
        info = self.store.session(session_id)
        self.session_id = info.id
        self.turns = self.store.turns(info.id)
        self.filters = filters_from_json(info.filters)
        if info.llm and not self.llm:
            try:
                self.set_llm(True)
            except AssistantError:
                pass
        return info

    def set_llm(self, on: bool) -> str:
        """Switch LLM mode; raises AssistantError when no chat model can be used."""
        if not on:
            self.llm = False
            self._save_state()
            return "LLM mode off: extractive answers"
        if self._llm_answerer is None:
            try:
                from .llm import LLMAnswerer  # written separately; may be absent in this installation
            except ImportError as exc:
                raise AssistantError(f"LLM mode is not available here (assistant.llm cannot be imported: {exc})") from None
            try:
                self._llm_answerer = LLMAnswerer(self.retriever, self.settings.llm)
            except AssistantError:
                raise
            except Exception as exc:  # a misconfigured model: say so, stay extractive
                raise AssistantError(f"LLM mode is not available: {exc}") from None
        self.llm = True
        self._save_state()
        model = getattr(self.settings.llm, "model", None) or "the configured model"
        return f"LLM mode on: {model} writes the answers, checked against the passages"

    def set_filters(self, filters: Filters) -> None:
        """Use these filters from the next question on."""
        self.filters = filters
        self._save_state()

    def reset(self) -> None:
        """Forget the conversation; the next question starts a new stored session."""
        self.turns = []
        self.session_id = None

    def known_types(self) -> list[str]:
        """The document types in the index."""
        return sorted({d.type for d in self.retriever.index.manifest.documents() if d.type})

    def _save_state(self) -> None:
        if self.store is not None and self.session_id is not None:
            self.store.set_state(self.session_id, self.filters, self.llm)

    # asking
    def rewrite(self, question: str) -> tuple[str, bool, list[str]]:
        """The text to search for, whether the question was read as a follow-up, and notes."""
        q = check_question(question)
        past = [t.past() for t in self.turns]
        if not past or not is_followup(q, previous=past[-1].question):
            return q, False, []
        if self.llm and self._llm_answerer is not None:
            lang = detect_language(q, default="da")
            try:
                condensed = clean_condensed(llm_complete(self._llm_answerer, self.settings, condense_prompt(q, past, lang)), q)
                return check_question(condensed[:2000]), True, []
            except AssistantError:
                raise
            except Exception as exc:  # the model failed: fall back to the extractive rewriting
                note = f"could not condense with the chat model ({_failure_in_words(exc)}); rewrote without it"
                return rewrite_followup(q, past)[:2000], True, [note]
        return rewrite_followup(q, past)[:2000], True, []

    def ask(self, question: str, on_token: Callable[[str], None] | None = None) -> Reply:
        """Answer a question in the light of the conversation, and store the turn."""
        q = check_question(question)
        catch_up = getattr(getattr(self.retriever, "index", None), "catch_up", None)
        if catch_up is not None:
            catch_up()  # a team index: what was committed since the last question (one small request when nothing was)
        searched, followup, notes = self.rewrite(q)
        kwargs: dict[str, Any] = {"filters": self.filters if self.filters.active() else None, "k": self.k}
        if searched != q:
            kwargs["search_text"] = searched
        answerer = self.answerer
        if on_token is not None and getattr(answerer, "streams", False):  # an LLM answerer streams its draft
            kwargs["on_token"] = on_token
        answer = answerer.ask(q, **kwargs)
        if not answer.searched:
            answer.searched = searched
        warning = getattr(answer, "warning", None)
        if warning:
            notes.append(str(warning))
        turn = Turn(len(self.turns) + 1, q, searched, followup, answer, self.filters, _now())
        self.turns.append(turn)
        if self.store is not None:
            if self.session_id is None:
                self.session_id = self.store.create(q, str(self.settings.index_dir), self.filters, self.llm)
            self.store.add_turn(self.session_id, turn)
        return Reply("answer", answer=answer, turn=turn.seq, notes=notes)

    # commands
    def handle(self, line: str, on_token: Callable[[str], None] | None = None) -> Reply:
        """Run one line of input: a slash command or a question."""
        cmd = parse_command(line)
        if cmd is None:
            return self.ask(line, on_token=on_token)
        if cmd.name == "quit":
            return Reply("quit")
        if cmd.name == "help":
            return Reply("help", message=HELP)
        if cmd.name == "reset":
            self.reset()
            return Reply("reset", message="conversation reset; the next question starts a new session")
        if cmd.name == "clear":
            self.reset()
            return Reply("clear", message="context cleared; the next question stands alone (a new session)")
        if cmd.name == "filter":
            if cmd.args:
                self.set_filters(parse_filters(cmd.args, self.filters, self.known_types()))
            return Reply("filters", filters=self.filters)
        if cmd.name == "llm":
            arg = (cmd.args[0].lower() if cmd.args else "")
            if arg not in ("on", "off"):
                return Reply("llm", message=f"LLM mode is {'on' if self.llm else 'off'} (/llm on|off)")
            return Reply("llm", message=self.set_llm(arg == "on"))
        if cmd.name == "sources":
            return Reply("sources", passages=self.sources())
        if cmd.name == "open":
            if len(cmd.args) != 1 or not cmd.args[0].strip("[]").isdigit():
                raise QuestionError("usage: /open N (a citation number of the last answer)")
            return Reply("open", passages=[self.open(int(cmd.args[0].strip("[]")))])
        if cmd.name == "save":
            if len(cmd.args) != 1:
                raise QuestionError("usage: /save FILE (a Markdown file)")
            path = self.save(Path(cmd.args[0]).expanduser())
            return Reply("saved", message=f"saved {len(self.turns)} turn(s) to {path}")
        raise QuestionError(f"unknown command /{cmd.name}")  # pragma: no cover

    def _citations(self) -> tuple[Answer, list[Citation]]:
        if self.last is None:
            raise QuestionError("no answer yet; ask a question first")
        ans = self.last.answer
        return ans, (ans.citations or ans.see_also)

    def sources(self) -> list[Passage]:
        """The passages (whole chunks) behind the last answer's citations."""
        ans, cites = self._citations()
        manifest = self.retriever.index.manifest
        out: list[Passage] = []
        for c in cites:
            same = next((p for p in out if p.doc_id == c.doc_id and p.start <= c.start and c.end <= p.end), None)
            if same is not None:  # two citations in one passage: show it once, both quotes marked
                same.marks.append((c.n, c.start - same.start, c.end - same.start))
                continue
            text = self._document_text(c)
            chunks = [k for k in manifest.chunks_of(c.doc_id) if k.start < c.end and c.start < k.end]
            start = min([k.start for k in chunks] + [c.start])
            end = max([k.end for k in chunks] + [c.end])
            out.append(_passage(c, ans.language, text, start, end))
        return out

    def open(self, n: int, context: int = 1500) -> Passage:
        """The document text around citation n, cut at paragraph breaks, with the quote's offsets."""
        ans, cites = self._citations()
        match = [c for c in cites if c.n == n]
        if not match:
            nums = ", ".join(str(c.n) for c in cites) or "none"
            raise QuestionError(f"no citation [{n}] in the last answer (citations: {nums})")
        c = match[0]
        text = self._document_text(c)
        start = max(0, c.start - context)
        end = min(len(text), c.end + context)
        if start > 0:
            brk = text.find("\n\n", start, c.start)
            start = brk + 2 if brk != -1 else start
        if end < len(text):
            brk = text.rfind("\n\n", c.end, end)
            end = brk if brk != -1 else end
        return _passage(c, ans.language, text, start, end)

    def _document_text(self, c: Any) -> str:
        text = self.retriever.index.manifest.document_text(c.doc_id)
        if text is None:
            raise AssistantError(f"{c.source}: no longer in the index")
        return text

    def transcript(self) -> str:
        """The conversation as Markdown: each question, what was searched, the answer and its sources."""
        lines = ["# Policy assistant — conversation", ""]
        meta = [f"- saved: {_now()}", f"- index: `{self.settings.index_dir}`"]
        if self.session_id is not None:
            meta.insert(0, f"- session: {self.session_id}")
        lines += meta + [""]
        for t in self.turns:
            a = t.answer
            lab = labels(a.language)
            lines += [f"## {t.seq}. {t.question}", ""]
            if t.searched != t.question:
                lines += [f"*{lab['searched']}: {t.searched}*", ""]
            if t.filters.active():
                lines += [f"*filters: {t.filters.describe()}*", ""]
            lines += [a.answer, ""]
            cites = a.citations or a.see_also
            if cites:
                lines += [f"**{lab['sources'] if a.citations else lab['see_also']}:**", ""]
                for c in cites:
                    page = f", {lab['page']} {c.page}" if c.page else ""
                    quote = " ".join(c.quote.split())
                    lines.append(f"{c.n}. {c.title} (`{c.source}`{page}, chars {c.start}–{c.end})")
                    lines.append(f"   > {quote}")
                lines.append("")
        return "\n".join(lines).rstrip() + "\n"

    def save(self, path: Path) -> Path:
        """Write the transcript to a Markdown file."""
        if not self.turns:
            raise QuestionError("nothing to save yet; ask a question first")
        if path.is_dir():
            raise QuestionError(f"{path}: is a folder; give a file name")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(self.transcript(), encoding="utf-8")
        except OSError as exc:
            raise AssistantError(f"{path}: cannot write ({exc.strerror})") from None
        return path

    # the loop
    def run(self, lines: Iterator[str | None] | Callable[[], str | None], view: ChatView) -> int:
        """Read lines until /quit or the end of input; show each reply. Returns the exit code (0).

        `lines` is a callable returning the next line (None at the end; it may raise EOFError or,
        at the prompt, KeyboardInterrupt) or an iterator of lines. Ctrl-C while an answer is being
        composed cancels that answer only.
        """
        read = lines if callable(lines) else (lambda it=iter(lines): next(it, None))
        while True:
            try:
                line = read()
            except KeyboardInterrupt:
                continue
            except EOFError:
                break
            if line is None:
                break
            if not line.strip():
                continue
            try:
                with view.streaming(self) as on_token:
                    reply = self.handle(line, on_token=on_token)
            except KeyboardInterrupt:
                view.cancelled()
                continue
            except AssistantError as exc:
                view.error(str(exc), self)
                continue
            if reply.kind == "quit":
                break
            view.show(reply, self)
        return 0


def _passage(c: Any, language: str, text: str, start: int, end: int) -> Passage:
    """Citation c's passage text[start:end], its quote marked."""
    return Passage(c.n, c.doc_id, c.title, c.source, c.page, start, end, text[start:end],
                   c.start - start, c.end - start, language, [(c.n, c.start - start, c.end - start)])


def open_store(settings: Any) -> SessionStore:
    """The session store at Settings.chat_db (ASSISTANT_CHAT_DB), or in the user's data folder."""
    return SessionStore(Path(settings.chat_db) if getattr(settings, "chat_db", None) else default_chat_db())


def with_filters(base: Filters, **kw: str | None) -> Filters:
    """Filters with the given non-None values replaced."""
    return replace(base, **{k: v for k, v in kw.items() if v is not None})
