"""Generative answers: a chat model writes from numbered passages, and every sentence is checked.

The model (any OpenAI-compatible endpoint through `langchain_openai.ChatOpenAI`, Ollama through
`langchain_ollama.ChatOllama`, or a GGUF file run in this process, `assistant.local_llm`) is given the question and the top passages, quoted as data. Before an
answer is shown, each generated sentence must cite passages that were given, every number, date and
name in it must appear in the passages it cites, it must be in the question's language, and it must
not rest on text in a passage that reads as an instruction to the assistant. Sentences that fail are
dropped and listed in `Answer.unsupported`. Whether to refuse is decided by retrieval coverage (the
extractive composer) before the model is asked; when the model is unreachable, slow, or nothing it
wrote survives the checks, the extractive answer is returned with a one-line `warning`.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path

from .answering import Answer, Answerer, Citation, check_question
from .chunking import sentence_spans
from .config import LLMSettings
from .errors import AssistantError
from .injection import instruction_spans
from .language import STOPWORDS, detect_language, language_scores, match_terms, raw_tokens
from .loading import page_at
from .prompts import labels, prompt
from .retrieval import Filters, Hit, Retriever

PROVIDERS = ("openai", "ollama", "local")
PASSAGES = 5  # how many of the best hits the model reads
MAX_TOKENS = 800  # an answer is a few sentences; this bounds a runaway generation
TOTAL_TIMEOUT_FACTOR = 4  # the whole streamed reply must end within this many `timeout`s
USER_MARKER = "=== user ==="

OnToken = Callable[[str], None]


@dataclass
class LLMAnswer(Answer):
    """An answer from the generative mode: adds a warning (endpoint trouble, fallback) for the CLI."""

    warning: str | None = None
    rejected: list[tuple[str, str]] = field(default_factory=list, repr=False)  # (sentence, reason)

    def to_json(self) -> dict:
        """The `ask --json` object plus `unsupported` (always, in this mode) and `warning` when set."""
        out = super().to_json()
        out["unsupported"] = list(self.unsupported)
        if self.warning:
            out["warning"] = self.warning
        return out


def _as_llm_answer(ans: Answer, **changes: object) -> LLMAnswer:
    values = {f.name: getattr(ans, f.name) for f in fields(Answer) if f.init}
    values.update(changes)
    return LLMAnswer(**values)


class LLMUnavailable(Exception):
    """The chat model could not be reached or did not answer in time (message: one line)."""


class LLMAnswerer:
    """Answers with a chat model, checked sentence by sentence against the passages it was given."""

    streams = True  # `ask` accepts `on_token`

    def __init__(self, retriever: Retriever, settings: LLMSettings, chat_model: object | None = None) -> None:
        self.retriever = retriever
        self.settings = settings
        self.extractive = Answerer(retriever)
        self._chat_model = chat_model
        if chat_model is None:
            _validate(settings)
            if settings.provider == "local":  # load now: a bad model file is an error, not a fallback
                self._chat_model = make_chat_model(settings)

    def chat_model(self):
        """The LangChain chat model, made once (asking the endpoint for its model when none is set)."""
        if self._chat_model is None:
            self._chat_model = make_chat_model(self.settings)  # raises: nothing kept, tried again next time
        return self._chat_model

    # -- the answer ----------------------------------------------------------------------------

    def ask(
        self,
        question: str,
        filters: Filters | None = None,
        k: int = 8,
        search_text: str | None = None,
        on_token: OnToken | None = None,
    ) -> LLMAnswer:
        """Answer from the index with the chat model; refuse, or fall back to the extractive answer."""
        q = check_question(question)
        lang = detect_language(q, default="da")
        query = check_question(search_text) if search_text else q
        hits = self.retriever.search(query, k=k, filters=filters)
        return self.answer_from_hits(q, lang, hits, query, on_token=on_token)

    def answer_from_hits(
        self, question: str, lang: str, hits: list[Hit], query: str | None = None, on_token: OnToken | None = None
    ) -> LLMAnswer:
        """The checked generative answer for already retrieved passages."""
        base = self.extractive.compose(question, lang, hits, query)
        if base.refused:
            # Retrieval coverage decides: the model is not asked when the passages do not answer.
            return _as_llm_answer(base, mode="llm")
        passages = hits[:PASSAGES]
        try:
            raw = self.generate(question, lang, passages, on_token)
        except LLMUnavailable as exc:
            return _as_llm_answer(base, mode="extractive", warning=f"{exc}; showing the extractive answer")
        checked = check_answer(raw, lang, passages)
        rejected = [(s, why) for s, why in checked.rejected]
        unsupported = [s for s, _ in rejected]
        if not any(s.refs for s in checked.kept):
            why = (
                "the chat model said the documents do not answer, but the passages do"
                if checked.refused_only
                else "no sentence of the chat model's answer passed the checks"
            )
            return _as_llm_answer(
                base, mode="extractive", unsupported=unsupported, rejected=rejected,
                warning=f"{why}; showing the extractive answer",
            )
        text, cites = self._cite(checked, passages)
        return LLMAnswer(
            question, lang, text, False, cites, base.confidence, mode="llm", unsupported=unsupported,
            searched=base.searched, rejected=rejected, flagged=base.flagged,
        )

    def _cite(self, checked: CheckedAnswer, passages: list[Hit]) -> tuple[str, list[Citation]]:
        """Renumber the passages in order of use, rewrite the markers, quote each passage exactly."""
        order: list[int] = []
        for s in checked.kept:
            for n in s.refs:
                if n not in order:
                    order.append(n)
        new = {old: i for i, old in enumerate(order, 1)}
        cites = []
        for old in order:
            hit = passages[old - 1]
            claims = [s.claim for s in checked.kept if old in s.refs]
            start, end = best_quote(hit, claims)
            c = hit.chunk
            page = c.page
            if c.page is not None and c.page_end != c.page:
                doc = self.retriever.index.manifest.document(c.doc_id)
                page = page_at(doc.page_starts if doc else None, start) or c.page
            cites.append(
                Citation(new[old], c.doc_id, c.source, c.title, page, start, end,
                         c.text[start - c.start : end - c.start], round(float(hit.score), 4))
            )
        lines: dict[int, list[str]] = {}
        for s in checked.kept:
            marks = "".join(f"[{new[n]}]" for n in s.refs)
            lines.setdefault(s.line, []).append(_place_marks(s.claim, marks))
        text = "\n".join(("- " if li in checked.bullets else "") + " ".join(parts) for li, parts in sorted(lines.items()))
        return text, cites

    # -- the model -----------------------------------------------------------------------------

    def generate(self, question: str, lang: str, passages: list[Hit], on_token: OnToken | None = None) -> str:
        """The model's raw reply, streamed to `on_token`; LLMUnavailable on any endpoint trouble."""
        messages = build_messages(question, lang, passages)
        timeout = float(self.settings.timeout)
        deadline = time.monotonic() + timeout * TOTAL_TIMEOUT_FACTOR
        parts: list[str] = []
        try:
            stream = self.chat_model().stream(messages)
        except Exception as exc:  # noqa: BLE001 - any client error becomes a one-line warning
            raise LLMUnavailable(self._describe(exc)) from None
        try:
            while True:
                try:
                    chunk = next(stream)
                except StopIteration:
                    break
                except Exception as exc:  # noqa: BLE001
                    raise LLMUnavailable(self._describe(exc)) from None
                text = message_text(getattr(chunk, "content", chunk))
                if text:
                    parts.append(text)
                    if on_token is not None:
                        on_token(text)
                if time.monotonic() > deadline:
                    raise LLMUnavailable(
                        f"{self._where()} did not finish its answer within {timeout * TOTAL_TIMEOUT_FACTOR:g} s"
                    )
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
        return strip_thinking("".join(parts))

    def _where(self) -> str:
        s = self.settings
        if s.provider == "local":
            return f"the local model {Path(s.model_path or '?').name}"
        url = s.base_url or ("http://localhost:11434" if s.provider == "ollama" else "?")
        return f"the chat model at {url}"

    def _describe(self, exc: Exception) -> str:
        """One line saying what went wrong in words (never an exception class name, never the API key)."""
        name = type(exc).__name__
        msg = " ".join(str(exc).split())
        if "Timeout" in name or "timed out" in msg.lower():
            what = f"did not answer within {self.settings.timeout:g} s"
        elif "Connect" in name or "connection" in msg.lower():
            what = "is unreachable" + (f" ({_short(msg, 120)})" if msg and msg != "Connection error." else "")
        else:
            status = getattr(exc, "status_code", None)
            detail = _short(msg, 160) if msg else "no reason given"
            what = f"failed ({f'HTTP {status}: ' if status else ''}{detail})"
        line = f"{self._where()} {what}"
        key = self.settings.api_key
        if key:
            line = line.replace(key, "***")
        return line


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[: n - 1] + "…"


def _validate(s: LLMSettings) -> None:
    if s.provider not in PROVIDERS:
        raise AssistantError(f"unknown LLM provider {s.provider!r} (use \"openai\", \"ollama\" or \"local\")")
    if s.provider == "local":
        from .local_llm import INSTALL_HINT, check_model_file, runtime_available

        if not runtime_available():
            raise AssistantError(INSTALL_HINT)
        check_model_file(s.model_path)
    if s.provider == "openai" and not s.base_url:
        raise AssistantError(
            "--llm needs an endpoint: set ASSISTANT_LLM_BASE_URL (e.g. http://localhost:8080/v1) "
            "or base_url under [llm] in the config file"
        )
    if s.provider == "ollama" and not s.model:
        raise AssistantError("the ollama provider needs a model: set ASSISTANT_LLM_MODEL (e.g. llama3.1:8b)")
    if s.timeout <= 0:
        raise AssistantError("the LLM timeout must be positive")


def make_chat_model(s: LLMSettings):
    """The LangChain chat model for the settings (no network traffic until it is used)."""
    _validate(s)
    if s.provider == "local":
        from .local_llm import make_local_chat_model

        return make_local_chat_model(s.model_path, s.threads, s.context_size, s.temperature, MAX_TOKENS)
    if s.provider == "ollama":
        from langchain_ollama import ChatOllama

        client_kwargs: dict = {"timeout": s.timeout}
        if s.api_key:
            client_kwargs["headers"] = {"Authorization": f"Bearer {s.api_key}"}
        kw: dict = {"model": s.model, "temperature": s.temperature, "num_predict": MAX_TOKENS,
                    "client_kwargs": client_kwargs}
        if s.base_url:
            kw["base_url"] = s.base_url
        return ChatOllama(**kw)
    from langchain_openai import ChatOpenAI

    return ChatOpenAI(
        base_url=s.base_url,
        model=s.model or _served_model(s) or "default",
        api_key=s.api_key or "not-needed",
        timeout=s.timeout,
        max_retries=0,
        temperature=s.temperature,
        max_tokens=MAX_TOKENS,
        disable_streaming=not getattr(s, "stream", True),
    )


def _served_model(s: LLMSettings) -> str | None:
    """The first model the endpoint lists (llama.cpp, LM Studio, vLLM serve one), when none is set."""
    import httpx

    headers = {"Authorization": f"Bearer {s.api_key}"} if s.api_key else {}
    # an unreachable or slow endpoint raises here (reported by the caller); anything else: no name
    r = httpx.get(f"{s.base_url.rstrip('/')}/models", headers=headers, timeout=s.timeout)
    try:
        data = r.json().get("data") or []
        return str(data[0]["id"]) if r.status_code == 200 and data else None
    except (ValueError, KeyError, IndexError, TypeError, AttributeError):
        return None


def message_text(content: object) -> str:
    """The text of a chat message's content: a string, or its text blocks joined."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content blocks
        return "".join(b if isinstance(b, str) else str(b.get("text", "")) for b in content
                       if isinstance(b, str) or (isinstance(b, dict) and b.get("type") in ("text", None)))
    return ""


def strip_thinking(text: str) -> str:
    """Drop a reasoning model's <think>…</think> block (all of it when the reply was cut off inside)."""
    return re.sub(r"<think>.*?(?:</think>|$)", "", text, flags=re.S).strip()


# --- the prompt --------------------------------------------------------------------------------

# Text in a document that addresses the assistant rather than the reader (assistant.injection): quoted to
# the model only as a marker, and never accepted as support for a generated sentence.
injection_spans = instruction_spans


def _mask(text: str, spans: list[tuple[int, int]], marker: str) -> str:
    for s, e in sorted(spans, reverse=True):
        text = text[:s] + marker + text[e:]
    return text


def _attr(value: object) -> str:
    return " ".join(str(value).split()).replace('"', "'").replace("<", "‹").replace(">", "›")


_DELIMS = re.compile(r"</?\s*(passage|question)\b", re.I)


def format_passage(n: int, hit: Hit) -> str:
    """One numbered passage as a delimited data block."""
    c = hit.chunk
    attrs = [f'n="{n}"', f'title="{_attr(c.title)}"', f'source="{_attr(c.source)}"']
    if c.date:
        attrs.append(f'date="{_attr(c.date)}"')
    if c.page:
        attrs.append(f'page="{c.page}"')
    body = _mask(c.text, injection_spans(c.text), "[…]")
    body = _DELIMS.sub(lambda m: m.group(0).replace("<", "‹"), body)
    return f"<passage {' '.join(attrs)}>\n{body.strip()}\n</passage>"


def prompt_parts(lang: str) -> tuple[str, str]:
    """The system prompt and user template for a language (prompts/answer_<lang>.md, else English)."""
    try:
        text = prompt(f"answer_{lang}.md")
    except FileNotFoundError:
        text = prompt("answer_en.md")
    text = re.sub(r"<!--.*?-->\s*", "", text, flags=re.S)
    system, _, user = text.partition(USER_MARKER)
    return system.strip(), user.strip()


def build_messages(question: str, lang: str, passages: list[Hit]) -> list:
    """The system and user messages: rules, then the passages as data, then the question."""
    from langchain_core.messages import HumanMessage, SystemMessage

    system, user = prompt_parts(lang)
    values = {
        "refusal": labels(lang)["refusal"],
        "passages": "\n\n".join(format_passage(i, h) for i, h in enumerate(passages, 1)),
        "question": _DELIMS.sub(lambda m: m.group(0).replace("<", "‹"), question),
        "n": str(len(passages)),
    }

    def fill(template: str) -> str:
        return re.sub(r"\{(refusal|passages|question|n)\}", lambda m: values[m.group(1)], template)

    return [SystemMessage(fill(system)), HumanMessage(fill(user))]


# --- the checks --------------------------------------------------------------------------------

_MARKER = re.compile(r"\[\s*(\d+(?:\s*[,;–-]\s*\d+)*)\s*\]")
_ANY_MARKER = re.compile(r"\[[^\]\n]{0,20}\]")
_LEAD_MARKERS = re.compile(r"^(?:\s*\[[^\]\n]{0,20}\])+")
_BULLET = re.compile(r"^\s*(?:[-–•*▪●◦]|\d{1,2}[.)])\s+")
_NUM = re.compile(r"\d+(?:[.,:/-]\d+)*")
_SPACED = re.compile(r"(?<![\d.,])\d{1,3}(?:[ \u00a0\u202f]\d{3})+(?!\d)")
_UPPER = "A-ZÆØÅÄÖÜÉ"
_CAPWORD = rf"[{_UPPER}][^\W\d_]*(?:-[^\W\d_]+)*"
_NAME_SEQ = re.compile(rf"(?<![\w-]){_CAPWORD}(?:[ \u00a0]+{_CAPWORD})+")
_MONTHS = {
    name: i
    for i, names in enumerate(
        [
            "januar januari january jan",
            "februar februari february feb",
            "marts mars march",
            "april apr",
            "maj may",
            "juni june jun",
            "juli july jul",
            "august augusti aug",
            "september sep sept",
            "oktober october okt oct",
            "november nov",
            "december dec",
        ],
        1,
    )
    for name in names.split()
}
_MONTH_WORD = re.compile(r"\b(" + "|".join(sorted(_MONTHS, key=len, reverse=True)) + r")\b\.?", re.I)
_NUMERIC_DATE = re.compile(r"\b(\d{1,2})[./](\d{1,2})[./](\d{2,4})\b|\b(\d{4})-(\d{2})-(\d{2})\b")


@dataclass
class CheckedSentence:
    """A generated sentence that passed: its text without markers, the passages it cites, its line."""

    claim: str
    refs: list[int]
    line: int


@dataclass
class CheckedAnswer:
    kept: list[CheckedSentence]
    rejected: list[tuple[str, str]]  # (sentence as generated, why)
    refused_only: bool = False
    bullets: set[int] = field(default_factory=set)  # lines that were list items


def split_sentences(text: str) -> list[tuple[int, str, bool]]:
    """The generated answer as (line number, sentence, in a list item), each sentence with its markers."""
    out: list[tuple[int, str, bool]] = []
    for li, line in enumerate(text.split("\n")):
        bullet = bool(_BULLET.match(line))
        line = _BULLET.sub("", line).strip()
        if not line:
            continue
        sents = [line[s:e] for s, e in sentence_spans(line)]
        merged: list[str] = []
        if _cites_first(sents):
            # "[1] First sentence. Second sentence.": a line that opens with its citation cites it for every
            # sentence up to the next marker (small local models write whole paragraphs this way)
            current = ""
            for s in sents:
                lead = _LEAD_MARKERS.match(s)
                if lead and re.search(r"\d", lead.group(0)):
                    current = lead.group(0).strip()
                elif current and not any(re.search(r"\d", m.group(0)) for m in _ANY_MARKER.finditer(s)):
                    s = f"{s} {current}"
                merged.append(s)
            out.extend((li, s, bullet) for s in merged)
            continue
        for s in sents:
            lead = _LEAD_MARKERS.match(s)
            if lead and merged:  # "… 2009. [1] Next sentence": the marker belongs to the sentence before
                merged[-1] = merged[-1] + " " + lead.group(0).strip()
                s = s[lead.end():].strip()
            if s and (not _strip_markers(s).strip(" .,;:!?") and merged):
                merged[-1] = merged[-1] + " " + s
            elif s:
                merged.append(s)
        if _cites_last_only(merged):
            # "First sentence. Second sentence. [1]": a paragraph whose only citation ends it cites it for
            # every sentence in it (how small local models cite a passage they retell)
            tail = re.search(r"(?:\s*\[[^\]\n]{0,20}\])+\s*[.!?]?\s*$", merged[-1]).group(0).strip(" .!?")
            merged = [s if i == len(merged) - 1 else f"{s} {tail}" for i, s in enumerate(merged)]
        out.extend((li, s, bullet) for s in merged)
    return out


def _cites_first(sents: list[str]) -> bool:
    """Whether a line opens with a numeric citation marker followed by text."""
    lead = _LEAD_MARKERS.match(sents[0]) if sents else None
    return bool(lead and re.search(r"\d", lead.group(0)) and _strip_markers(sents[0]).strip(" .,;:!?"))


def _cites_last_only(sents: list[str]) -> bool:
    """Whether a line of several sentences has numeric citation markers only at its very end."""
    if len(sents) < 2 or not re.search(r"\[\s*\d[^\]\n]{0,18}\]\s*[.!?]?\s*$", sents[-1]):
        return False
    numeric = [m for s in sents for m in _ANY_MARKER.finditer(s) if re.search(r"\d", m.group(0))]
    last = [m for m in _ANY_MARKER.finditer(sents[-1]) if re.search(r"\d", m.group(0))]
    ends_only = all(not re.search(r"[^\W_]", _ANY_MARKER.sub("", sents[-1][m.end():])) for m in last)
    return len(numeric) == len(last) and ends_only and bool(_strip_markers(sents[-1]).strip(" .,;:!?"))


def _strip_markers(text: str) -> str:
    text = _ANY_MARKER.sub("", text)
    text = re.sub(r"\s+([.,;:!?])", r"\1", text)
    return " ".join(text.split())


def _refs(sentence: str) -> list[int] | None:
    """The passage numbers a sentence cites, in order; None when a marker is not a number list."""
    refs: list[int] = []
    for m in _ANY_MARKER.finditer(sentence):
        if not re.search(r"\d", m.group(0)):  # an ellipsis […] or a [sic]: not a citation
            continue
        mm = _MARKER.fullmatch(m.group(0))
        if not mm:
            return None
        for part in re.split(r"\s*[,;]\s*", mm.group(1)):
            if re.fullmatch(r"\d+\s*[–-]\s*\d+", part):
                a, b = (int(x) for x in re.split(r"\s*[–-]\s*", part))
                nums = list(range(a, b + 1)) if 0 < b - a < 10 else [a, b]
            else:
                nums = [int(part)]
            refs.extend(n for n in nums if n not in refs)
    return refs


def _digits(tok: str) -> str:
    return re.sub(r"\D", "", tok)


def number_keys(text: str) -> set[str]:
    """Every form in which a number of a passage may be repeated: 144,7 / 144.7, 1 000 / 1000, date parts."""
    keys: set[str] = set()
    for m in _NUM.finditer(text):
        tok = m.group(0)
        keys.add(tok.replace(",", "."))
        keys.add(_digits(tok))
        if re.search(r"[-/:]", tok) or tok.count(".") >= 2:  # dates, identifiers, ranges: their parts too
            keys.update(p.lstrip("0") or "0" for p in re.split(r"[.,:/-]", tok) if p)
    for m in _SPACED.finditer(text):
        keys.add(_digits(m.group(0)))
    return keys


def claim_numbers(text: str) -> list[str]:
    """The numbers a generated sentence states (thousands written with spaces taken whole)."""
    text = _SPACED.sub(lambda m: _digits(m.group(0)), text)
    return [m.group(0).rstrip(".,") for m in _NUM.finditer(text)]


def _number_supported(tok: str, keys: set[str]) -> bool:
    return tok.replace(",", ".") in keys or _digits(tok) in keys or (tok.lstrip("0") or "0") in keys


def months(text: str) -> set[int]:
    """The months a text names, as words in da/sv/en or inside numeric dates."""
    out = {_MONTHS[m.group(1).lower()] for m in _MONTH_WORD.finditer(text) if _is_month_word(m)}
    for m in _NUMERIC_DATE.finditer(text):
        month = m.group(2) or m.group(5)
        if month and 1 <= int(month) <= 12:
            out.add(int(month))
    return out


def _is_month_word(m: re.Match) -> bool:
    word = m.group(1).lower()
    if word in ("may", "mars", "mar", "jan", "jun", "jul", "dec", "sep", "nov", "oct", "okt", "aug", "feb", "apr"):
        # short forms and words with other meanings count only next to a day or year
        around = m.string[max(0, m.start() - 6) : m.end() + 6]
        return bool(re.search(r"\d", around))
    return True


def _normalise(text: str) -> str:
    return " ".join(text.split()).casefold()


def _name_found(name: str, passage: str) -> bool:
    words = name.split()
    pattern = r"\s+".join(re.escape(w) for w in words)
    if re.search(rf"(?<!\w){pattern}(?!\w)", passage, re.I):
        return True
    # a possessive or definite ending on the last word: Kiærs, Kommunförbundets
    last = re.sub(r"(?:'s|’s|s|en|et|ns)$", "", words[-1])
    if last != words[-1] and len(last) >= 3:
        pattern = r"\s+".join([*(re.escape(w) for w in words[:-1]), re.escape(last)])
        return bool(re.search(rf"(?<!\w){pattern}", passage, re.I))
    return False


def claim_names(claim: str) -> list[tuple[str, bool]]:
    """Capitalised multi-word names in a sentence, each with whether it starts the sentence."""
    first = re.search(r"[^\W\d_]", claim)
    out = []
    for m in _NAME_SEQ.finditer(claim):
        out.append((m.group(0), first is not None and m.start() == first.start()))
    return out


def _names_supported(claim: str, passage: str) -> str | None:
    """The first name in the claim that the passage does not hold, or None."""
    for name, initial in claim_names(claim):
        if _name_found(name, passage):
            continue
        if initial:
            # the first word may just start the sentence ("Ifølge Ankestyrelsen", "The Danish …"):
            # what remains must still be found when it is itself a multi-word name
            rest = name.split()[1:]
            if len(rest) < 2 or _name_found(" ".join(rest), passage):
                continue
        return name
    return None


def wrong_language(text: str, lang: str, answer_lang: str | None = None) -> str | None:
    """The other language a sentence is written in, or None when it is (or may be) in `lang`.

    A sentence must be clearly in another language to fail on its own; in an answer that as a whole
    is in another language (`answer_lang`), it fails unless it is itself more `lang` than not.
    """
    scores = language_scores(text)
    other = max((x for x in scores if x != lang), key=lambda x: scores[x])
    if scores[other] >= 3 and scores[other] - scores[lang] >= 2:
        return other
    if answer_lang and answer_lang != lang and scores[lang] <= scores[answer_lang]:
        return answer_lang
    return None


def check_answer(raw: str, lang: str, passages: list[Hit]) -> CheckedAnswer:
    """Keep the generated sentences the passages support; list the others with the reason."""
    refusal = labels(lang)["refusal"]
    support: list[str] = []
    for h in passages:
        t = h.chunk.text
        support.append(_mask(t, injection_spans(t), " "))
    keys = [number_keys(t) for t in support]
    month_sets = [months(t) for t in support]
    plain = _strip_markers(raw)
    whole_wrong = None
    if re.search(r"[^\W\d_]{2}", plain) and (found := detect_language(plain, default=lang)) != lang:
        scores = language_scores(plain)
        if scores[found] > scores[lang]:  # a tie ("Senast den 1 oktober 1997.") is no evidence against lang
            whole_wrong = found
    kept: list[CheckedSentence] = []
    rejected: list[tuple[str, str]] = []
    saw_refusal = False
    seen: set[str] = set()
    bullets: set[int] = set()
    for line, sent, bullet in split_sentences(raw):
        if bullet:
            bullets.add(line)
        claim = _strip_markers(sent)
        shown = " ".join(sent.split())
        if _normalise(claim).rstrip(".") == _normalise(refusal).rstrip("."):
            # the fixed phrase needs no citation; in a partial answer it says what the documents lack
            saw_refusal = True
            kept.append(CheckedSentence(refusal, [], line))
            continue
        refs = _refs(sent)
        reason = None
        key = _normalise(claim).rstrip(".")
        if refs and key in seen:  # the same sentence again (for another passage): shown once
            continue
        if not re.search(r"[^\W_]", claim):
            reason = "nothing but a citation marker" if refs else "no citation"
        elif refs is None:
            reason = "a citation marker that is not a passage number"
        elif not refs:
            reason = "no citation"
        elif bad := [n for n in refs if not 1 <= n <= len(passages)]:
            reason = f"cites passage {bad[0]}, which was not given"
        elif other := wrong_language(claim, lang, whole_wrong):
            reason = f"written in {other}, the question in {lang}"
        else:
            cited = "\n".join(support[n - 1] for n in refs)
            ckeys = set().union(*(keys[n - 1] for n in refs))
            cmonths = set().union(*(month_sets[n - 1] for n in refs))
            if missing := [x for x in claim_numbers(claim) if not _number_supported(x, ckeys)]:
                reason = f"{missing[0]} is not in the cited passage"
            elif extra := months(claim) - cmonths:
                reason = f"the month {min(extra)} is not in the cited passage"
            elif (name := _names_supported(claim, cited)) is not None:
                reason = f"{name} is not in the cited passage"
            elif not _shares_words(claim, lang, [passages[n - 1] for n in refs]):
                reason = "shares no words with the cited passage"
        if reason:
            rejected.append((shown, reason))
        else:
            seen.add(key)
            kept.append(CheckedSentence(claim, refs, line))
    refused_only = saw_refusal and not any(s.refs for s in kept) and not rejected
    return CheckedAnswer(kept, rejected, refused_only, bullets)


def _shares_words(claim: str, lang: str, hits: list[Hit]) -> bool:
    """Whether a sentence has any content word in common with the passages it cites (stems, or
    Danish/Swedish cognates). Not judged across other language pairs, or for very short sentences."""
    langs = {h.chunk.language or "da" for h in hits}
    if not (langs <= {lang} or langs | {lang} <= {"da", "sv"}):
        return True
    words = " ".join(w for w in raw_tokens(claim) if w not in STOPWORDS.get(lang, ()))
    cterms = match_terms(words, lang)
    if len([t for t in cterms if not t.startswith("~")]) < 3:
        return True
    text = "\n".join(h.chunk.text for h in hits)
    pterms = match_terms(text, tuple(langs))
    return bool(cterms & pterms)


def _place_marks(claim: str, marks: str) -> str:
    """The sentence followed by its renumbered markers, as in the extractive answers."""
    return f"{claim} {marks}" if marks else claim


# --- quotes ------------------------------------------------------------------------------------


def _terms(text: str, lang: str) -> set[str]:
    return match_terms(text, lang) | {t for t in raw_tokens(text) if any(c.isdigit() for c in t)}


def best_quote(hit: Hit, claims: list[str]) -> tuple[int, int]:
    """Offsets (in the document) of the passage sentences that best match the claims citing it.

    Each claim picks its best sentence of the chunk (numbers weigh most, then shared stems and
    cognates); the quote runs from the first picked sentence to the last. When a claim matches
    no sentence well, the whole chunk is the quote. Sentences that read as instructions to an
    assistant are never quoted as support.
    """
    c = hit.chunk
    lang = c.language or "da"
    bad = injection_spans(c.text)
    spans = [(s, e) for s, e in sentence_spans(c.text) if not any(s < be and bs < e for bs, be in bad)]
    if not spans:
        return c.start, c.end
    sent_terms = [_terms(c.text[s:e], lang) for s, e in spans]
    sent_nums = [number_keys(c.text[s:e]) for s, e in spans]
    picked: list[tuple[int, int]] = []
    for claim in claims:
        cterms = _terms(claim, lang)
        cnums = claim_numbers(claim)
        best, best_score = None, 0.0
        for span, terms, nums in zip(spans, sent_terms, sent_nums):
            score = 3.0 * sum(_number_supported(x, nums) for x in cnums) + len(cterms & terms)
            if score > best_score:
                best, best_score = span, score
        needed = 3.0 if not cnums else 3.0 * len(cnums)
        if best is None or best_score < min(needed, 4.0):
            return c.start, c.end
        picked.append(best)
    start = min(s for s, _ in picked)
    end = max(e for _, e in picked)
    return c.start + start, c.start + end
