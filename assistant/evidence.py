"""What an answer's evidence looks like, in numbers that do not depend on the kind of question asked."""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from typing import Protocol

from .language import STOPWORDS, match_terms, raw_tokens

# Words that ask rather than say: never content, whatever the language.
QUESTION_WORDS = frozenset(
    "hvad hvor hvordan hvilke hvilken hvilket hvem hvorfor hvornår hvor meget mange "
    "vad hur vilka vilken vilket vem varför när mycket många "
    "what how which who why when much many does did do is are was were".split()
)

# The features of the answer model, in the order its weights are stored (prompts/answer_model.json).
FEATURES = (
    "dense_z",  # the best passage's cosine in standard deviations above the index's mean cosine to the question
    "dense_best_z",  # ... the chosen sentence's (its window), likewise
    "dense_margin",  # best passage's cosine above the median of the passages retrieved
    "lexical_best",  # share of the question's content terms (local IDF) the chosen sentence holds
    "passage_cover",  # share of the question's content terms (index IDF) the chosen sentence's passage holds
    "known",  # share of the question's content terms (index IDF) the index knows at all
    "same_language",  # the chosen sentence is in the question's language
    "both_channels",  # the chosen sentence's passage was found by the dense and the keyword channel
    "score_best",  # the chosen sentence's score among the candidates
    "doc_margin",  # its score above the best sentence of another document
    "cover_same",  # passage_cover when the languages match (terms mean little across languages)
    "known_same",  # known when the languages match
    "content_terms",  # log(1 + number of content terms in the question)
    "doc_share",  # share of the best five passages that come from the chosen sentence's document
    "dense_doc_gap",  # the chosen document's best passage cosine less the best of any other document
)


class _Hit(Protocol):
    chunk: object
    dense: float | None
    channels: list[str]


class _Sentence(Protocol):
    hit: _Hit
    dense: float
    lexical: float
    score: float


class _Idf(Protocol):
    def idf(self, term: str) -> float: ...


def content_terms(question: str, lang: str) -> set[str]:
    """The question's content terms (no question or stop words), stemmed for a language, with cognate keys."""
    words = " ".join(w for w in raw_tokens(question) if w not in QUESTION_WORDS and w not in STOPWORDS.get(lang, ()))
    return match_terms(words, lang)


def weighted_share(terms: set[str], found: set[str], idf: _Idf) -> float:
    """IDF-weighted share of the terms that are in `found` (cognate keys "~xxxxx" count half)."""
    def weight(t: str) -> float:
        return 0.5 * idf.idf(t[1:]) if t.startswith("~") else idf.idf(t)

    total = sum(weight(t) for t in terms)
    return sum(weight(t) for t in terms & found) / total if total else 0.0


def features(
    question: str, qlang: str, best: _Sentence, sents: Sequence[_Sentence], hits: Sequence[_Hit],
    idf: _Idf, vocab: dict, dense_stats: tuple[float, float] | None = None,
) -> dict[str, float]:
    """The answer model's features for a question, its chosen sentence and the rest of the evidence.

    Absolute cosines differ from corpus to corpus (e5's similarities crowd near 0.8 in one index and 0.9 in
    another), so the model sees them against the spread of the question's similarities to the whole index.
    """
    lang = getattr(best.hit.chunk, "language", None) or "da"
    terms = {t for t in content_terms(question, lang) if not t.startswith("~")}
    passage = match_terms(best.hit.chunk.text + " " + (best.hit.chunk.title or ""), lang)
    dense = [h.dense or 0.0 for h in hits]
    dense_top = max(dense[:5]) if dense else 0.0
    others = [s.score for s in sents if s.hit.chunk.doc_id != best.hit.chunk.doc_id]
    same = 1.0 if lang == qlang else 0.0
    doc = best.hit.chunk.doc_id
    mine = [h.dense or 0.0 for h in hits if h.chunk.doc_id == doc]
    theirs = [h.dense or 0.0 for h in hits if h.chunk.doc_id != doc]
    cover = weighted_share(terms, passage, idf)
    known = weighted_share(terms, {t for t in terms if t in vocab}, idf)
    mean, sd = dense_stats if dense_stats and dense_stats[1] > 1e-6 else (statistics.fmean(dense), 0.03)
    return {
        "dense_top": dense_top,  # not a model feature: the cross-lingual floor reads it
        "dense_z": (dense_top - mean) / sd,
        "dense_best_z": (best.dense - mean) / sd,
        "dense_margin": dense_top - statistics.median(dense) if dense else 0.0,
        "lexical_best": best.lexical,
        "passage_cover": cover,
        "known": known,
        "same_language": same,
        "both_channels": 1.0 if len(getattr(best.hit, "channels", []) or []) > 1 else 0.0,
        "score_best": best.score,
        "doc_margin": min(2.0, best.score - max(others)) if others else 2.0,
        "cover_same": cover * same,
        "known_same": known * same,
        "content_terms": math.log1p(len(terms)),
        "doc_share": sum(1 for h in hits[:5] if h.chunk.doc_id == doc) / max(1, len(hits[:5])),
        "dense_doc_gap": max(mine, default=0.0) - max(theirs, default=max(mine, default=0.0) - 0.1),
    }
