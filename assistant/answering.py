"""Extractive answers: the retrieved sentences that answer the question, each cited exactly."""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from functools import lru_cache

import numpy as np

from .answer_types import (
    _AUTHORED,
    _asked_fields,
    _document_context,
    _field_kind,
    _mentions,
    _numbers,
    _other_year,
    _pinned_numbers,
    _pinned_years,
    answer_types,
    cell_satisfies,
    loosely_satisfies,
    satisfies,
)
from .calibration import answer_model
from .chunking import sentence_spans, whole_sentences
from .document_lines import byline_block, header_fields, label_of, labelled_lines, section_heading, signature_block
from .errors import QuestionError
from .evidence import content_terms, features
from .injection import is_instruction
from .language import (
    detect_language,
    match_terms,
    nordic_keys,
    query_languages,
)
from .loading import page_at
from .prompts import labels
from .question import other_language, unanswerable_question
from .retrieval import Filters, Hit, Retriever
from .tables import row_cells, row_header

# Answer rules switched off by name, for measuring what each contributes (bench/answer_rules.py); none in use.
RULES_OFF = frozenset(filter(None, os.environ.get("ASSISTANT_ANSWER_RULES_OFF", "").split(",")))
MAX_QUESTION_CHARS = 2000
# A question answered from a passage in another language is refused below this dense similarity instead of by
# the answer model, which no cross-lingual dev data could be fitted on (the floor dates from session 9's
# calibration on eval/questions.yaml; docs/answering.md).
CROSS_LINGUAL_DENSE = 0.80
TOP_PASSAGES = 5
SENTENCE_POOL = 4  # sentences embedded per question (the main cost of `ask` after retrieval)
TYPED_POOL = 4  # ... plus short lines holding the kind of answer asked for
SAME_LANGUAGE_POOL = 1  # sentences embedded from passages in the question's own language
SAME_LANGUAGE_WORDS = 16  # ... as a window of this many words (paraphrase matching needs less context)
EMBED_WORDS = 32  # a longer sentence is embedded as its window of this many words that holds most question terms
UNEMBEDDED_PENALTY = 0.04
TWIN_WORDS = 4  # shortest sentence that lends its vector to a sentence holding it word for word
COMPOUND_MIN = 9  # shortest question word treated as a possible compound
COMPOUND_PART = 5  # shortest word counted as its head or tail
MAX_SENTENCES = 3
LABEL_WORDS = 4  # a line of at most this many words ending in ":" is quoted with the line it introduces
AUTHOR_DOCS = 2  # ... in the best-ranked documents
FIELD_BONUS = 0.5  # a header field whose label the question names ("sagsbehandler" ~ "Handläggare:")
SUBJECT_CHARS = 8  # a question's word this long names what it is about ("legeplads", "botilbud"), not what it asks
AUTHOR_BONUS = 1.0  # "who signed / wrote" is answered by the signature or byline, not by a sentence naming someone


_BULLET = re.compile(r"\s*(?:[-–•*▪●◦]|\d{1,3}[.)])\s")
# a label that names a number ("Cirkulärnr", "Journalnummer", "Dnr"): its line answers only a question for a number
_IDENTIFIER_LABEL = re.compile(r"(?:nr|nummer|number|no)\.?$", re.I)


@dataclass
class Citation:
    """One cited passage: an exact slice of a document's canonical text."""

    n: int
    doc_id: str
    source: str
    title: str
    page: int | None
    start: int
    end: int
    quote: str
    score: float


@dataclass
class Answer:
    """An answer with its citations, or a refusal with the nearest passages."""

    question: str
    language: str
    answer: str
    refused: bool
    citations: list[Citation]
    confidence: float = 0.0
    see_also: list[Citation] = field(default_factory=list)
    mode: str = "extractive"
    unsupported: list[str] = field(default_factory=list)
    searched: str | None = None
    refusal_reason: str | None = None
    coverage: float = 0.0  # diagnostics for the evaluation, not part of the JSON contract
    best_score: float | None = None
    candidate_doc: str | None = None  # the document the answer came (or, refused, would have come) from
    evidence: dict[str, float] = field(default_factory=dict)  # the answer model's features
    flagged: list[Citation] = field(default_factory=list)  # passages that address the reader with commands

    def to_json(self) -> dict:
        """The JSON object of the `assistant ask --json` contract."""
        out = {
            "question": self.question,
            "language": self.language,
            "answer": self.answer,
            "refused": self.refused,
            "citations": [asdict(c) for c in self.citations],
            "mode": self.mode,
            "confidence": round(self.confidence, 3),
            "see_also": [asdict(c) for c in self.see_also],
            "flagged": [asdict(c) for c in self.flagged],
        }
        if self.refused and self.refusal_reason:
            out["refusal_reason"] = self.refusal_reason
        if self.mode == "llm":
            out["unsupported"] = self.unsupported
        if self.searched and self.searched != self.question:
            out["searched"] = self.searched
        return out

    def label_key(self) -> str:
        """high, medium or low: the answer model's calibrated word for the confidence (docs/answering.md)."""
        return answer_model().label(self.confidence)

    def coverage_label(self) -> str:
        """High / medium / low coverage in the answer's language."""
        return labels(self.language)[self.label_key()]


def check_question(question: str) -> str:
    """The question stripped, or a QuestionError saying why it cannot be asked."""
    q = " ".join(question.split())
    if not q:
        raise QuestionError("the question is empty")
    if len(q) > MAX_QUESTION_CHARS:
        raise QuestionError(f"the question is too long ({len(q)} characters; at most {MAX_QUESTION_CHARS})")
    if not re.search(r"[^\W_]", q):
        raise QuestionError("the question has no words in it")
    return q


@dataclass
class _Sentence:
    hit: Hit
    start: int
    end: int
    text: str
    lexical: float = 0.0
    dense: float = 0.0
    score: float = 0.0
    typed: bool = False
    matched: frozenset[str] = frozenset()  # the question's content terms the sentence holds
    authored: bool = False  # a document's signature or byline
    header: list[str] | None = None  # a table row's column headers, cell by cell
    asked: bool = False  # the question names this row's column or this line's label: the value under it answers


def _cells(s: _Sentence) -> list[str]:
    """A table row's cell texts."""
    return [s.text[a:b] for a, b in row_cells(s.text) or []]


def _with_headers(s: _Sentence) -> str:
    """A table row with each cell under its column's name ("Afd.: Borgervelfærd; Forventet fremsendt: November")."""
    return "; ".join(f"{h}: {c}" if h else c for h, c in zip(s.header or [], _cells(s)) if c)


def _name_match(name: str, qterms: set[str], question: str, lang: str) -> int:
    """How many of the question's terms a column's or label's name holds; "Afd." holds "afdeling" by its prefix."""
    n = len(qterms & match_terms(name, lang))
    words = [w.lower() for w in re.findall(r"\w+", question)]
    n += sum(1 for a in re.findall(r"(\w{3,})\.", name) if any(w.startswith(a.lower()) and w != a.lower() for w in words))
    return n


def _structured_subject(s: _Sentence, question: str, doc_text: Callable[[str], str]) -> bool:
    """Whether a row or a labelled line that the question names the column or label of is about what it asks.

    The question's long words (SUBJECT_CHARS letters or more: the compounds and names that say what it is about,
    not its verbs) other than the column or label names must mostly stand in the row's cells, or in the labelled
    line, its section heading or the document's title. So "budget 2026 for handicapområdets botilbud" is not
    answered by the row "Hjemmepleje | … | 438,6", nor "hvem stillede forslaget om en ny svømmehal" by another
    agenda item's "Stillet af".
    """
    lang = s.hit.chunk.language or "da"
    if s.header:
        names = match_terms(" ".join(s.header), lang)
        own = match_terms(" ".join(_cells(s)) + " " + s.hit.chunk.title, lang)
    else:
        text = doc_text(s.hit.chunk.doc_id)
        if _field_kind(s.text):
            return True  # a letter's "Handläggare:", "J.nr." speak of the whole document
        label, value = label_of(s.text) or ("", s.text)
        names = match_terms(label, lang)
        fields = header_fields(text)
        head = text[: fields[-1][1]] if any(a == s.start for a, _ in fields) else ""  # a letter's header: its top lines
        own = match_terms(f"{value} {section_heading(text, s.start)} {s.hit.chunk.title} {head}", lang)
    abbreviations = tuple(a.lower() for a in re.findall(r"(\w{3,})\.", " ".join(s.header or [])))  # "Afd."
    subject = [match_terms(w, lang) for w in re.findall(rf"[^\W\d_]{{{SUBJECT_CHARS},}}", question)
               if not w.lower().startswith(abbreviations or ("\0",))]
    subject = [t for t in subject if t and not t & names]
    return not subject or sum(bool(t & own) for t in subject) / len(subject) > 0.5


def _asked_column(s: _Sentence, qterms: set[str], question: str, lang: str) -> int | None:
    """The column of a table row that the question names ("forventet fremsendt", "budget 2026"), or None.

    Of two columns the question names as much, the one whose cell the question does not already say is asked
    ("Hvilken afdeling har sagen om udbud …": Afd., not Sag).
    """
    best, at = 0.0, None
    for i, (h, c) in enumerate(zip(s.header or [], _cells(s))):
        named = _name_match(h, qterms, question, lang)
        if not named or not c.strip():
            continue
        score = named - (0.5 if qterms & match_terms(c, lang) else 0.0)
        if score > best:
            best, at = score, i
    return at


def compound_match(term: str, terms: set[str]) -> float:
    """How much of a compound the sentence holds as words of its own: 0.5 for its head or its tail, 1 for both.

    Danish and Swedish write compounds as one word, so "mobilnummer" is answered by "mobil 40 70 69 01" and
    "civilsamfundsstrategi" by "en ny strategi for ... civilsamfundet".
    """
    if len(term) < COMPOUND_MIN or not term.isalpha():
        return 0.0
    head = any(len(u) >= COMPOUND_PART and term.startswith(u) for u in terms)
    tail = any(len(u) >= COMPOUND_PART and term.endswith(u) and u != term for u in terms)
    return 0.5 * head + 0.5 * tail


def _sentences(hits: list[Hit], doc_text: Callable[[str], str]) -> list[_Sentence]:
    """The passages' whole sentences, split as in their documents (a quote never starts mid-sentence)."""
    out: list[_Sentence] = []
    for h in hits:
        c = h.chunk
        text = doc_text(c.doc_id)
        if text[c.start : c.end] == c.text:
            spans = [(a - c.start, b - c.start) for a, b in whole_sentences(text, c.start, c.end)]
        else:  # no canonical text stored (an index from before it was): the chunk alone
            spans = sentence_spans(c.text)
        for i, (s, e) in enumerate(spans):
            prev = spans[i - 1] if i else None
            if prev and _is_label(c.text[prev[0] : prev[1]]) and not _BULLET.match(c.text[prev[1] : e]):
                s = prev[0]  # "Yderligere oplysninger:" / "Berit Steengaard Olesen, tlf. …" is one answer (not a list)
            text = c.text[s:e]
            if len(text) < 12 or not re.search(r"[^\W\d_]{3}", text):
                continue
            out.append(_Sentence(h, c.start + s, c.start + e, text))
    return out


def _with_fields(sents: list[_Sentence], fields: list[_Sentence]) -> list[_Sentence]:
    """The sentences with header fields as answers of their own: a block of several fields gives way to its lines."""
    def block(s: _Sentence) -> bool:
        doc = s.hit.chunk.doc_id
        return sum(f.hit.chunk.doc_id == doc and s.start <= f.start and f.end <= s.end for f in fields) >= 2

    kept = [s for s in sents if not block(s)]
    seen = {(s.hit.chunk.doc_id, s.start, s.end) for s in kept}
    return kept + [f for f in fields if (f.hit.chunk.doc_id, f.start, f.end) not in seen]


def _is_label(text: str) -> bool:
    """A short line that introduces the next one: "Pressekontakt:", "Yderligere oplysninger:"."""
    return text.endswith(":") and len(text.split()) <= LABEL_WORDS


def _window(sent: _Sentence, terms: set[str], size: int = EMBED_WORDS) -> str:
    """The sentence, or for a long one its run of `size` words holding most question terms (embedding cost grows with length)."""
    if sent.header:  # a table row is embedded with its column names: "Forventet fremsendt: November"
        return _with_headers(sent)
    words = list(re.finditer(r"\S+", sent.text))
    if len(words) <= size:
        return sent.text
    lang = sent.hit.chunk.language or "da"
    hit = [1 if terms & match_terms(w.group(0), lang) else 0 for w in words]
    run = sum(hit[:size])
    best, best_at = run, 0
    for i in range(size, len(words)):
        run += hit[i] - hit[i - size]
        if run > best:
            best, best_at = run, i - size + 1
    return sent.text[words[best_at].start() : words[best_at + size - 1].end()]


def _extend_list(sent: _Sentence) -> None:
    """A sentence that introduces a list (ends with ':') takes the list lines that follow it."""
    if not sent.text.rstrip().endswith(":"):
        return
    c = sent.hit.chunk
    rel = sent.end - c.start
    rest = c.text[rel:]
    end = rel
    pos = rel
    taken = 0
    for line in rest.split("\n")[1:]:
        pos_line = c.text.find(line, pos)
        if not line.strip():
            pos = pos_line + len(line)
            if taken:
                break
            continue
        if not _BULLET.match(line) or taken >= 8:
            break
        end = pos_line + len(line.rstrip())
        pos = pos_line + len(line)
        taken += 1
    if taken:
        sent.end = c.start + end
        sent.text = c.text[sent.start - c.start : end]


class Answerer:
    """Composes extractive answers from a retriever's passages."""

    def __init__(self, retriever: Retriever) -> None:
        self.retriever = retriever
        self._pages: dict[str, list[int] | None] = {}

    def ask(self, question: str, filters: Filters | None = None, k: int = 8, search_text: str | None = None) -> Answer:
        """Answer a question from the index, or refuse when the passages do not hold the answer."""
        q = check_question(question)
        lang = detect_language(q, default="da")
        query = check_question(search_text) if search_text else q
        hits = self.retriever.search(query, k=k, filters=filters)
        return self.compose(q, lang, hits, query)

    def compose(self, question: str, lang: str, hits: list[Hit], query: str | None = None) -> Answer:
        """Pick, order and cite the sentences that answer; refuse when coverage is too thin."""
        query = query or question
        blocked = unanswerable_question(question)
        if blocked:  # another language, or nothing to look for: no passage can answer it
            lang = "en" if other_language(question) else lang
            return Answer(question, lang, labels(lang)["refusal"], True, [], 0.0, searched=query, refusal_reason=blocked)
        lab = labels(lang)
        if not hits:
            return Answer(question, lang, lab["refusal"], True, [], 0.0, searched=query)
        top = hits[:TOP_PASSAGES]
        # Each document's canonical text is read once per question, however many checks need it.
        doc_text = lru_cache(maxsize=None)(lambda d: self.retriever.index.manifest.document_text(d) or "")
        sents = _sentences(top, doc_text)
        planted = [s for s in sents if is_instruction(s.text)]  # never an answer, always reported
        sents = [s for s in sents if s not in planted]
        flagged = [self._cite(i, s.hit, s.start, s.end, s.text, 0.0) for i, s in enumerate(planted, 1)]
        types = answer_types(query)
        if ("person" in types and types <= {"person", "organisation"} and _AUTHORED.search(query)
                and "signatures" not in RULES_OFF):  # who, not when
            sents += self._authorship(top, doc_text)
        if (types & {"identifier", "person", "phone"} or _asked_fields(query)) and "fields" not in RULES_OFF:
            sents = _with_fields(sents, self._header_fields(top, doc_text))  # a letter's header (its date is its own)
        if "labels" not in RULES_OFF:  # "Stillet af: …" wherever it stands, when the question names its label
            sents = _with_fields(sents, self._labelled(top, doc_text, query))
        coverage = self._score(query, sents, doc_text)
        best = max(sents, key=lambda s: s.score) if sents else None
        model = answer_model()
        qlang = detect_language(query)
        evidence: dict[str, float] = {}
        confidence = answerable = 0.0
        if best is not None:
            kw = self.retriever.index.keyword
            evidence = features(query, qlang, best, sents, hits, kw, kw.vocab, self.retriever.dense_stats)
            confidence, answerable = model.probability(evidence), model.answerable(evidence)
        reason = self._refusal_reason(query, best, top, doc_text)
        cross = best is not None and best.hit.chunk.language != qlang
        if reason is None and cross and evidence.get("dense_top", 0.0) < CROSS_LINGUAL_DENSE:
            reason = f"the passages in another language are not close enough to the question ({evidence['dense_top']:.2f})"
        elif reason is None and not cross and answerable < model.refuse_below:
            reason = f"the passages do not answer the question closely enough (evidence {answerable:.2f})"
        if cross:  # the model was fitted on same-language questions: no "high" it was not calibrated for
            confidence = min(confidence, model.high_at - 1e-4)
        diagnostics = {"coverage": coverage, "best_score": best.score if best else None,
                       "candidate_doc": best.hit.chunk.doc_id if best else None, "evidence": evidence,
                       "flagged": flagged}
        if reason:
            see = [self._cite(i + 1, h, h.chunk.start, h.chunk.end, h.chunk.text) for i, h in enumerate(top[:3])]
            return Answer(question, lang, lab["refusal"], True, [], confidence, see_also=see, searched=query,
                          refusal_reason=reason, **diagnostics)
        chosen = self._select(sents, best)
        cites: list[Citation] = []
        parts: list[str] = []
        for i, s in enumerate(chosen, 1):
            _extend_list(s)
            cites.append(self._cite(i, s.hit, s.start, s.end, s.text, s.score))
            parts.append(f"{_with_headers(s) if s.header else _flatten(s.text)} [{i}]")
        return Answer(question, lang, " ".join(parts), False, cites, confidence, searched=query, **diagnostics)

    def _authorship(self, top: list[Hit], doc_text: Callable[[str], str]) -> list[_Sentence]:
        """The signatures and bylines of the best-ranked documents, as candidate answers to "who signed / wrote"."""
        return self._document_lines(top, doc_text, lambda t: filter(None, (signature_block(t), byline_block(t))), True)

    def _header_fields(self, top: list[Hit], doc_text: Callable[[str], str]) -> list[_Sentence]:
        """The "Label: value" lines atop the best-ranked documents ("Cirkulärnr: 1997:145", "Handläggare: …")."""
        return self._document_lines(top, doc_text, header_fields, False)

    def _labelled(self, top: list[Hit], doc_text: Callable[[str], str], question: str) -> list[_Sentence]:
        """The "Label: value" lines of the best-ranked documents whose label the question names ("Stillet af")."""
        langs = {h.chunk.doc_id: h.chunk.language or "da" for h in top}
        terms = {lang: content_terms(question, lang) for lang in set(langs.values())}

        def spans(text: str) -> Iterable[tuple[int, int]]:
            lang = next((langs[d] for d in langs if doc_text(d) is text), "da")
            return [(a, b) for a, b, label in labelled_lines(text) if _name_match(label, terms[lang], question, lang)]

        return self._document_lines(top, doc_text, spans, False)

    def _document_lines(
        self, top: list[Hit], doc_text: Callable[[str], str], spans: Callable[[str], Iterable[tuple[int, int]]],
        authored: bool,
    ) -> list[_Sentence]:
        """Candidate sentences at the given spans of the best-ranked documents' texts, wherever retrieval left them."""
        out = []
        for doc_id in list(dict.fromkeys(h.chunk.doc_id for h in top))[:AUTHOR_DOCS]:
            text = doc_text(doc_id)
            best = next(h for h in top if h.chunk.doc_id == doc_id)
            chunks = None
            for span in spans(text):
                chunks = chunks or self.retriever.index.manifest.chunks_of(doc_id)
                chunk = next((c for c in chunks if c.start <= span[0] < c.end), None)
                if chunk is None:
                    continue
                hit = next((h for h in top if h.chunk.id == chunk.id), None)
                hit = hit or Hit(chunk, best.score, best.dense, best.keyword, best.rank, best.channels)
                out.append(_Sentence(hit, span[0], span[1], text[span[0] : span[1]], authored=authored))
        return out

    def _score(self, question: str, sents: list[_Sentence], doc_text: Callable[[str], str]) -> float:
        """Score sentences for the question; return the question's best term coverage."""
        if not sents:
            return 0.0
        by_lang: dict[str, set[str]] = {}
        sent_terms: list[set[str]] = []
        for s in sents:
            lang = s.hit.chunk.language or "da"
            if lang not in by_lang:
                by_lang[lang] = content_terms(question, lang).union(
                    *(content_terms(question, ql) for ql in query_languages(question))
                )
            ts = match_terms(s.text, lang)
            if "tables" not in RULES_OFF and "|" in s.text and row_cells(s.text):
                s.header = row_header(doc_text(s.hit.chunk.doc_id), s.start)
                ts = ts | match_terms(" ".join(s.header or []), lang)  # a row says what its columns are called
            elif "labels" not in RULES_OFF and label_of(s.text):
                ts = ts | match_terms(section_heading(doc_text(s.hit.chunk.doc_id), s.start), lang)  # ... its section
            sent_terms.append(ts)
        n = len(sents)
        df: dict[str, int] = {}
        for ts in sent_terms:
            for t in ts:
                df[t] = df.get(t, 0) + 1

        def idf(t: str) -> float:
            return math.log(1 + (n + 1) / (df.get(t, 0) + 0.5))

        # Dense similarity of the question to each candidate sentence (the strongest signal
        # across languages and paraphrase), on a bounded pool of the most promising sentences.
        for s, ts in zip(sents, sent_terms):
            qt = by_lang[s.hit.chunk.language or "da"]
            total = sum(idf(t) for t in qt) or 1.0
            s.lexical = (sum(idf(t) for t in qt & ts) + sum(idf(t) * compound_match(t, ts) for t in qt - ts)) / total
            s.matched = frozenset(qt & ts)  # stems, and cognate keys across Danish and Swedish
        types = answer_types(question)
        if "types" in RULES_OFF:
            types = set()
        for s in sents:
            lang = s.hit.chunk.language or "da"
            if s.header:
                s.asked = _asked_column(s, by_lang[lang], question, lang) is not None
            elif label_of(s.text) and "labels" not in RULES_OFF:
                label, value = label_of(s.text)
                s.asked = (_name_match(label, by_lang[lang], question, lang) > 0
                           and (not types or any(loosely_satisfies(t, value) for t in types))
                           and (not _IDENTIFIER_LABEL.search(label) or "identifier" in types))
            s.typed = bool(types) and (s.asked or any(satisfies(t, s.text, question) for t in types)
                                       or bool(s.header) and any(cell_satisfies(t, c) for t in types for c in _cells(s)))
        # Sentence vectors cost most of `ask`'s time, so only where they pay: the few best same-language
        # sentences (paraphrases: "formålet" ~ "hvordan man … inddrager"), and more where words cannot do
        # the matching, in passages in another language than the question's.
        qlang = detect_language(question)
        foreign = [s for s in sents if s.hit.chunk.language != qlang]
        native = [s for s in sents if s.hit.chunk.language == qlang]
        def promise(s: _Sentence) -> float:  # the final score's strongest terms, without a sentence vector
            return s.lexical + (s.hit.dense or 0) + (0.8 if s.typed else 0.0)

        pool = sorted(foreign, key=promise, reverse=True)[:SENTENCE_POOL]
        pool += sorted(native, key=promise, reverse=True)[:SAME_LANGUAGE_POOL]
        if types and foreign:  # short lines that hold the kind of answer asked for ("J.nr. 2008-1550", a name)
            typed = [s for s in foreign if s not in pool and s.typed]
            typed.sort(key=lambda s: (s.hit.rank, -s.lexical))
            pool += typed[:TYPED_POOL]
        emb = self.retriever.embedder
        qvec = self.retriever.query_vector(question)
        for s in sents:  # without a vector of its own, a sentence is as relevant as its passage, a bit less
            s.dense = (s.hit.dense or 0.0) - UNEMBEDDED_PENALTY
        windows = [
            _window(s, by_lang[s.hit.chunk.language or "da"], SAME_LANGUAGE_WORDS if s.hit.chunk.language == qlang else EMBED_WORDS)
            for s in pool
        ]
        vecs = emb.embed_passages(windows) if pool else []
        for s, v in zip(pool, vecs):
            s.dense = float(np.dot(v, qvec))
            if len(s.text.split()) < 8:  # a short line ("Karen Jespersen") borrows its passage's relevance
                s.dense = max(s.dense, (s.hit.dense or 0.0) - UNEMBEDDED_PENALTY)
        for s in sents:  # the same line in another document ("Pressekontakt: …", there with a mobile number) scores as its twin
            if s not in pool:
                twins = [p.dense for p in pool if _same_line(s.text, p.text)]
                s.dense = max([s.dense, *twins])
        qnums = _numbers(question)
        top_dense = max(s.dense for s in sents)
        asked_fields = _asked_fields(question)
        names = _names(question)
        named_docs = _naming(names, {s.hit.chunk.doc_id for s in sents}, doc_text) if "names" not in RULES_OFF else set()
        for s in sents:
            s.score = 0.6 * (s.dense - top_dense) / 0.1 + 0.4 * s.lexical
            s.score += 0.1 if qnums and qnums & _numbers(s.text) else 0.0
            s.score += 0.05 * ((s.hit.dense or 0) - 0.8) / 0.1 - 0.06 * (s.hit.rank - 1)
            if types:
                s.score += 0.5 if s.typed else -0.3
            if s.hit.chunk.doc_id in named_docs:
                s.score += 0.15  # the document names what the question names (the refusal of section 5 asks the same)
            if s.authored:
                s.score += AUTHOR_BONUS
            if asked_fields and _field_kind(s.text) in asked_fields or s.asked:
                s.score += FIELD_BONUS  # "sagsbehandler" asked, "Handläggare: Karl-Axel Johansson" found
            if s.header and _flatten(s.text) == _flatten(" | ".join(s.header)):
                s.score -= 2.0  # a table's header row names the columns; it answers nothing
            if "quantity" in types and "years" not in RULES_OFF and _other_year(question, s.text, s.hit.chunk):
                s.score -= 0.5  # an amount for 2010 does not answer "how much in 2011"
        return max(s.lexical for s in sents)

    @staticmethod
    def _refusal_reason(query: str, best, top: list[Hit], doc_text: Callable[[str], str]) -> str | None:
        """Why the passages do not answer the question, or None when they do."""
        if best is None:
            return "no readable sentences in the passages"
        if "vetoes" in RULES_OFF:
            return None
        types = answer_types(query) if "types" not in RULES_OFF else set()
        if best.asked and "subject" not in RULES_OFF and not _structured_subject(best, query, doc_text):
            return "no row or labelled line about what the question asks about"
        if types and not best.typed:
            return f"no passage states the {'/'.join(sorted(types))} asked for"
        if types and "subject" not in RULES_OFF and not _about_subject(query, best, doc_text):
            return f"no passage that speaks of what the question asks about states the {'/'.join(sorted(types))} asked for"
        names = [n for n in _names(query) if n.lower() not in _GENERIC_NAMES] if types else []
        named = _naming(names, {h.chunk.doc_id for h in top}, doc_text)
        if named and best.hit.chunk.doc_id not in named:
            return f"no passage about {', '.join(names)} states the {'/'.join(sorted(types))} asked for"
        years = _other_year(query, best.text, best.hit.chunk) if "quantity" in types else None
        if years:
            return f"the passages give the amount for {years}, not for {', '.join(sorted(_pinned_years(query)))}"
        pinned = _pinned_numbers(query)
        if pinned and not _mentions(pinned, _document_context(best.hit.chunk, doc_text)):
            return f"the passages do not mention {', '.join(sorted(pinned))}"
        unknown = _unknown_names(query, top)
        if unknown:
            return f"the documents do not mention {', '.join(unknown)}"
        return None

    def _select(self, sents: list[_Sentence], best: _Sentence) -> list[_Sentence]:
        ranked = sorted((s for s in sents if s.score > -1.0), key=lambda s: -s.score)
        chosen = [best]
        per_chunk = {best.hit.chunk.id: 1}
        for s in ranked[1:]:
            if len(chosen) >= MAX_SENTENCES:
                break
            if s.score < best.score - 0.35 or s.lexical < 0.15:
                continue
            if any(s.text == c.text or s.start < c.end and c.start < s.end for c in chosen):
                continue
            same = next((i for i, c in enumerate(chosen) if _holds(c.text, s.text) or _holds(s.text, c.text)), None)
            if same is not None:  # the same line in another document: keep the fuller of the two, once
                c = chosen[same]
                if len(_flatten(s.text)) > len(_flatten(c.text)) and per_chunk.get(s.hit.chunk.id, 0) < 2:
                    chosen[same] = s
                    per_chunk[c.hit.chunk.id] -= 1
                    per_chunk[s.hit.chunk.id] = per_chunk.get(s.hit.chunk.id, 0) + 1
                continue
            if per_chunk.get(s.hit.chunk.id, 0) >= 2:
                continue
            if not per_chunk.get(s.hit.chunk.id) and not s.matched - best.matched:
                continue  # another passage adds to the answer only with a part of the question the best lacks
            chosen.append(s)
            per_chunk[s.hit.chunk.id] = per_chunk.get(s.hit.chunk.id, 0) + 1
        rank = {h: i for i, h in enumerate(dict.fromkeys(c.hit.chunk.doc_id for c in chosen))}
        return sorted(chosen, key=lambda s: (rank[s.hit.chunk.doc_id], s.start))

    def _cite(self, n: int, hit: Hit, start: int, end: int, text: str, score: float | None = None) -> Citation:
        c = hit.chunk
        page = c.page
        if c.page is not None and c.page_end != c.page:
            page = page_at(self._page_starts(c.doc_id), start)
        return Citation(n, c.doc_id, c.source, c.title, page, start, end, text, round(float(score if score is not None else hit.score), 4))

    def _page_starts(self, doc_id: str) -> list[int] | None:
        if doc_id not in self._pages:
            doc = self.retriever.index.manifest.document(doc_id)
            self._pages[doc_id] = doc.page_starts if doc else None
        return self._pages[doc_id]


# a capitalised word that does not begin a sentence, a quotation or a line ("Vem säger: ”Varje kommun …”?")
_CAPWORD = re.compile(r"(?<![.!?:]\s)(?<![”\"“«(\n])(?<![”\"“«]\s)(?<!^)\b([A-ZÆØÅÄÖ][a-zæøåäöé]{3,})")


def _names(question: str) -> list[str]:
    """Capitalised words inside a question: the names it asks about ("Socialdepartementet", "Frederiksberg")."""
    return [m.group(1) for m in _CAPWORD.finditer(question.strip())]


# Capitalised in a name ("Frederiksberg Kommune", "Norrby kommun") but said of every municipality or ministry
_GENERIC_NAMES = {
    "kommune", "kommunes", "kommunen", "kommunens", "kommun", "kommuns", "kommunerne", "kommunerna", "region",
    "regionen", "regions", "staten", "statens", "ministeriet", "ministeriets", "ministeren", "departementet",
    "regeringen", "regeringens", "rådet", "styrelsen", "forbundet", "förbundet", "municipality", "ministry",
}


def _naming(names: list[str], doc_ids: set[str], doc_text: Callable[[str], str]) -> set[str]:
    """The documents that mention one of the names; a name's inflected forms count: its stem of six letters or more."""
    stems = [n.lower()[: max(6, len(n) - 3)] for n in names]
    if not stems:
        return set()
    out = set()
    for d in doc_ids:
        text = doc_text(d).lower()
        if any(st in text for st in stems):
            out.add(d)
    return out


def _unknown_names(question: str, hits: list[Hit]) -> list[str]:
    """Proper names in a Danish or Swedish question that none of the passages mention."""
    if detect_language(question) == "en":
        return []
    names = _names(question)
    if not names:
        return []
    text = " ".join(h.chunk.text + " " + h.chunk.title for h in hits).lower()
    keys: set[str] | None = None  # the passages' cognate keys, only when a name is not there as spelled
    out = []
    for word in names:
        forms = {word.lower()[:5], word.lower().rstrip("s'’")[:5]}  # "Marys" names Mary
        if any(f in text for f in forms):
            continue
        keys = keys if keys is not None else {k[1:] for k in nordic_keys(text)}
        if next(iter(nordic_keys(word)), "~")[1:] not in keys:
            out.append(word)
    return out


def _about_subject(question: str, best: _Sentence, doc_text: Callable[[str], str]) -> bool:
    """Whether the sentence, or the paragraph and heading it stands under, holds a content word of the question.

    A sentence that only holds the kind of fact asked for (an amount, a date) answers for the question's subject
    only where it speaks of it: "Den samlede udgift til renoveringen er 12,5 mio. kr." under "Punkt 5: Renovering
    af Nørre Skole" does not say what a footbridge under item 4 costs. Word overlap says little across languages,
    so a passage in another language than the question's, a signature and a header field always pass.
    """
    lang = best.hit.chunk.language or "da"
    if best.authored or _field_kind(best.text) or lang != detect_language(question) or best.matched:
        return True
    text = doc_text(best.hit.chunk.doc_id) or best.hit.chunk.text
    start = text.rfind("\n\n", 0, best.start)
    head = text.rfind("\n\n", 0, max(0, start))  # the paragraph before: a heading when it is one short line
    before = text[head + 2 if head >= 0 else 0 : max(0, start)].strip()
    end = text.find("\n\n", best.end)
    window = text[start + 2 if start >= 0 else 0 : end if end >= 0 else len(text)]
    if before and "\n" not in before and len(before.split()) <= 12:
        window = before + "\n" + window
    return bool(content_terms(question, lang) & match_terms(window, lang))


def _flatten(text: str) -> str:
    return " ".join(text.split())


def _holds(a: str, b: str) -> bool:
    """Whether sentence a holds sentence b word for word."""
    return _flatten(b).casefold() in _flatten(a).casefold()


def _same_line(a: str, b: str) -> bool:
    """Whether one of two sentences of some length holds the other word for word."""
    short = min(a, b, key=len)
    return len(short.split()) >= TWIN_WORDS and (_holds(a, b) or _holds(b, a))

