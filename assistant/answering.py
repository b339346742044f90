"""Extractive answers: the retrieved sentences that answer the question, each cited exactly."""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field

import numpy as np

from .chunking import sentence_spans
from .errors import QuestionError
from .language import STOPWORDS, analyze, detect_language, nordic_keys, query_languages, raw_tokens
from .loading import page_at
from .prompts import labels
from .retrieval import Filters, Hit, Retriever

MAX_QUESTION_CHARS = 2000
TOP_PASSAGES = 5
SENTENCE_POOL = 28
MAX_SENTENCES = 3

# Refusal thresholds, calibrated on eval/questions.yaml (see docs/benchmarks.md).
REFUSE_DENSE = 0.80
REFUSE_COVERAGE = 0.35

_NUMBER = re.compile(r"\d+(?:[.,:/-]\d+)*")
_BULLET = re.compile(r"\s*(?:[-–•*▪●◦]|\d{1,3}[.)])\s")
_QUESTION_WORDS = frozenset(
    "hvad hvor hvordan hvilke hvilken hvilket hvem hvorfor hvornår hvor meget mange "
    "vad hur vilka vilken vilket vem varför när mycket många "
    "what how which who why when much many does did do is are was were".split()
)


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
        }
        if self.mode == "llm":
            out["unsupported"] = self.unsupported
        if self.searched and self.searched != self.question:
            out["searched"] = self.searched
        return out

    def coverage_label(self) -> str:
        """High / medium / low coverage in the answer's language."""
        lab = labels(self.language)
        if self.confidence >= 0.66:
            return lab["high"]
        return lab["medium"] if self.confidence >= 0.4 else lab["low"]


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


def _content_terms(question: str, lang: str) -> set[str]:
    words = " ".join(w for w in raw_tokens(question) if w not in _QUESTION_WORDS and w not in STOPWORDS.get(lang, ()))
    return set(analyze(words, lang)) | nordic_keys(words)


_ASK_AMOUNT = re.compile(r"\b(hvor (meget|mange)|hur (mycket|många)|how (much|many)|beløb|belopp|amount|procent|percent)\b", re.I)
_ASK_DATE = re.compile(r"\b(hvornår|när|when|dato|datum|date|hvilket år|vilket år|what year|senast)\b", re.I)
_ASK_WHO = re.compile(r"\b(hvem|vem|who|whom)\b", re.I)
_AMOUNT = re.compile(r"\d[\d.,]*\s*(mio|mia|millioner|miljoner|million|kr|kroner|kronor|procent|%)", re.I)
_DATE = re.compile(r"\b(1[89]|20)\d\d\b|\b\d{1,2}\.? (januar|februar|marts|april|maj|juni|juli|august|september|oktober|november|december|januari|februari|mars|augusti)", re.I)
_NAME = re.compile(r"\b[A-ZÆØÅÄÖ][a-zæøåäöé]+(?:-[A-ZÆØÅÄÖ][a-zæøåäöé]+)? [A-ZÆØÅÄÖ][a-zæøåäöé]+")


def answer_type_bonus(question: str, sentence: str) -> float:
    """A bonus for sentences holding what the question asks for: an amount, a date, a person."""
    bonus = 0.0
    if _ASK_AMOUNT.search(question) and _AMOUNT.search(sentence):
        bonus += 0.25
    if _ASK_DATE.search(question) and _DATE.search(sentence):
        bonus += 0.2
    if _ASK_WHO.search(question) and _NAME.search(sentence):
        bonus += 0.15
    return bonus


def _numbers(text: str) -> set[str]:
    return {m.group(0).replace(",", ".") for m in _NUMBER.finditer(text)}


def _sentences(hits: list[Hit]) -> list[_Sentence]:
    out: list[_Sentence] = []
    for h in hits:
        c = h.chunk
        for s, e in sentence_spans(c.text):
            text = c.text[s:e]
            if len(text) < 12 or not re.search(r"[^\W\d_]{3}", text):
                continue
            out.append(_Sentence(h, c.start + s, c.start + e, text))
    return out


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
        lab = labels(lang)
        if not hits:
            return Answer(question, lang, lab["refusal"], True, [], 0.0, searched=query)
        top = hits[:TOP_PASSAGES]
        sents = _sentences(top)
        coverage, missing_numbers = self._score(query, sents, top)
        best = max(sents, key=lambda s: s.score) if sents else None
        dense_top = max((h.dense or 0.0) for h in top)
        confidence = _confidence(dense_top, coverage)
        refuse = best is None or missing_numbers or (dense_top < REFUSE_DENSE and coverage < REFUSE_COVERAGE)
        if refuse:
            see = [self._cite(i + 1, h, h.chunk.start, h.chunk.end, h.chunk.text) for i, h in enumerate(top[:3])]
            return Answer(question, lang, lab["refusal"], True, [], confidence, see_also=see, searched=query)
        chosen = self._select(sents, best)
        cites: list[Citation] = []
        parts: list[str] = []
        for i, s in enumerate(chosen, 1):
            _extend_list(s)
            cites.append(self._cite(i, s.hit, s.start, s.end, s.text, s.score))
            parts.append(f"{_flatten(s.text)} [{i}]")
        return Answer(question, lang, " ".join(parts), False, cites, confidence, searched=query)

    def _score(self, question: str, sents: list[_Sentence], hits: list[Hit]) -> tuple[float, bool]:
        """Score sentences; return the question's term coverage and whether its numbers are missing."""
        if not sents:
            return 0.0, False
        by_lang: dict[str, set[str]] = {}
        sent_terms: list[set[str]] = []
        for s in sents:
            lang = s.hit.chunk.language or "da"
            if lang not in by_lang:
                by_lang[lang] = _content_terms(question, lang).union(
                    *(_content_terms(question, ql) for ql in query_languages(question))
                )
            sent_terms.append(set(analyze(s.text, lang)) | nordic_keys(s.text))
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
            s.lexical = sum(idf(t) for t in qt & ts) / total
        pool = sorted(sents, key=lambda s: -(s.lexical + (s.hit.dense or 0)))[:SENTENCE_POOL]
        emb = self.retriever.embedder
        qvec = getattr(self.retriever, "_last_qvec", None)
        if qvec is None:
            qvec = emb.embed_query(question)
        vecs = emb.embed_passages([s.text for s in pool])
        for s, v in zip(pool, vecs):
            s.dense = float(np.dot(v, qvec))
        qnums = _numbers(question)
        top_dense = max(s.dense for s in pool)
        for s in sents:
            if s not in pool:
                s.score = -1.0
                continue
            num_bonus = 0.1 if qnums and qnums & _numbers(s.text) else 0.0
            s.score = 0.6 * (s.dense - top_dense) / 0.1 + 0.4 * s.lexical + num_bonus
            s.score += answer_type_bonus(question, s.text)
            s.score += 0.05 * ((s.hit.dense or 0) - 0.8) / 0.1
        coverage = max(s.lexical for s in sents)
        # A number or year the question asks about that no top passage mentions: not answered here.
        years = {x for x in qnums if re.fullmatch(r"(1[89]|20)\d\d", x)} | {x for x in qnums if "." in x or "-" in x or ":" in x}
        text = " ".join(h.chunk.text for h in hits[:3])
        missing = bool(years) and not (years & _numbers(text))
        return coverage, missing

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
            if per_chunk.get(s.hit.chunk.id, 0) >= 2:
                continue
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


def _flatten(text: str) -> str:
    return " ".join(text.split())


def _confidence(dense_top: float, coverage: float) -> float:
    d = min(1.0, max(0.0, (dense_top - 0.75) / 0.15))
    return round(0.5 * d + 0.5 * min(1.0, coverage), 3)
