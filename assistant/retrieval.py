"""Hybrid retrieval: dense vectors and BM25 keywords, fused, filtered and diversified."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field, replace

import numpy as np

from .embedding import Embedder, canonical_model_name, get_embedder
from .errors import QuestionError
from .language import LANGUAGES, YEAR, analyze, query_languages, query_terms, raw_tokens
from .stores import ChunkRecord, Index, date_key, end_key, is_date

RRF_K = 60
CANDIDATES = 50
PER_DOC_CAP = 3
HUB_WEIGHT = 0.15  # dense ranking: similarity minus this times the chunk's hubness (stores.hubness)
_IDENTIFIER = re.compile(r"\d|§|[A-ZÆØÅÄÖ]{2,}")


@dataclass(frozen=True)
class Filters:
    """Which documents a search may return."""

    lang: str | None = None
    type: str | None = None
    since: str | None = None
    until: str | None = None
    source: str | None = None

    def active(self) -> bool:
        """True when any filter is set."""
        return any((self.lang, self.type, self.since, self.until, self.source))

    def describe(self) -> str:
        """The filters as `key=value` words."""
        return " ".join(f"{k}={v}" for k, v in self.__dict__.items() if v)


MODES = ("hybrid", "dense", "keyword")


def check_mode(mode: str) -> str:
    """The retrieval mode, or a QuestionError when it is not hybrid, dense or keyword."""
    if mode not in MODES:
        raise QuestionError(f"mode={mode}: expected one of {', '.join(MODES)}")
    return mode


def check_filters(filters: Filters, known_types: Iterable[str] = ()) -> Filters:
    """The filters with language and type spelled as the index spells them, or a QuestionError naming a bad one."""
    lang, doc_type = filters.lang, filters.type
    if lang is not None:
        lang = lang.strip().lower()
        if lang not in LANGUAGES:
            raise QuestionError(f"lang={filters.lang}: expected one of {', '.join(LANGUAGES)}")
    for key in ("since", "until"):
        value = getattr(filters, key)
        if value is not None and not is_date(value.strip()):
            raise QuestionError(f"{key}={value}: expected a date YYYY, YYYY-MM or YYYY-MM-DD")
    if filters.since and filters.until and date_key(filters.since.strip()) > end_key(filters.until.strip()):
        raise QuestionError(f"since={filters.since} is after until={filters.until}")
    if doc_type is not None:
        types = sorted(set(known_types))
        if doc_type not in types:
            near = [t for t in types if doc_type.lower() in t.lower()]
            if len(near) != 1:
                raise QuestionError(f"type={doc_type}: the index has the types {', '.join(types) or '(none)'}")
            doc_type = near[0]
    return replace(filters, lang=lang, type=doc_type)


@dataclass
class Hit:
    """A retrieved chunk with its fused score and the scores of each channel."""

    chunk: ChunkRecord
    score: float
    dense: float | None = None
    keyword: float | None = None
    rank: int = 0
    channels: list[str] = field(default_factory=list)


DEFAULT_FUSION = "zscore-adaptive"
ZSCORE_BASE = 0.25  # keyword share when every question term is in the keyword vocabulary
ZSCORE_ID_BOOST = 0.15  # more for identifiers, numbers, § references
ZSCORE_EXACT_ID = 0.5  # the share when the question holds a joined identifier the index knows ("1997:145")
_JOINED_ID = re.compile(r"\d+[-:/.]\d+")
_WORD = re.compile(r"[^\W\d_]+(?:-[^\W\d_]+)*")
LOOKUP_WORDS = 3  # a query of at most this many words and no question mark is a look-up ("Velfærdsministeriet")
_PHONE = re.compile(r"(?<![\d-])(?:\d{2,4}-)?\d{2,3}(?: \d{2,3}){2,}(?![\d-])")  # "40 70 69 01", "08-123 45 67"
_PHONE_PAIR = re.compile(r"(?<![\d-])(\d{4}) (\d{4})(?![\d-])")  # "3392 9300" (not "2009 2010")
_JOINED = re.compile(r"(?<![\w.:/-])\d+(?:[-:/.]\d+)+(?![\w:/-]|\.\d)")  # "2008-1550", "1997:145", "16.12.2008"
_AMOUNT = re.compile(r"\d{1,3}(?:\.\d{3})+|\d+\.\d{1,2}")  # "100.000", "2.5": amounts, not identifiers
EXACT_CHECK = 200  # at most this many chunks holding every part of an identifier are read for the whole sequence
EXACT_MARGIN = 1e-3  # how far the last chunk holding the identifier is lifted above the best one without it


def identifiers(question: str) -> list[str]:
    """Multi-part identifiers a question writes, whitespace normalised; not amounts ("100.000") or two years.

    Phone numbers ("33 92 43 95", "08-772 43 18", "3392 9300"), case, circular and SFS numbers
    ("2008-1550", "1997:145", "2016/17:104") and dotted dates ("16.12.2008").
    """
    question = " ".join(question.split())
    found = [m.group(0) for m in _PHONE.finditer(question)]
    found += [
        m.group(0) for m in _PHONE_PAIR.finditer(question) if not (YEAR.fullmatch(m.group(1)) and YEAR.fullmatch(m.group(2)))
    ]
    found += [
        m.group(0) for m in _JOINED.finditer(question)
        if not _AMOUNT.fullmatch(m.group(0)) and not any(m.group(0) in f for f in found)
    ]
    return list(dict.fromkeys(found))


def identifier_pattern(identifier: str) -> re.Pattern:
    """A regex for an identifier as a passage writes it: the same digits and separators, any whitespace between groups."""
    body = r"\s+".join(re.escape(part) for part in identifier.split())
    return re.compile(rf"(?<![\w.:/-]){body}(?![\w]|[-:/.]\d)")


def lift_exact(fused: dict[str, float], holders: Iterable[str]) -> None:
    """Raise the chunks that hold the query's identifier above every other, keeping their order among themselves."""
    held = {c for c in holders if c in fused}
    others = [v for c, v in fused.items() if c not in held]
    if not held or not others:
        return
    gap = max(others) - min(fused[c] for c in held)
    if gap >= 0:
        for c in held:
            fused[c] += gap + EXACT_MARGIN


def known_share(terms: list[str], vocab: dict) -> float:
    """The share of a question's keyword terms that the keyword index knows (0 for none)."""
    return sum(1 for t in terms if t in vocab) / len(terms) if terms else 0.0


def keyword_weight(question: str, known: float) -> float:
    """How much to trust the keyword channel for this question.

    The share of the question's terms the keyword index knows (an English question about Danish
    documents matches almost none of them, so dense retrieval decides), plus a boost for identifiers,
    numbers and § references, which embeddings match poorly.
    """
    return 0.15 + 0.85 * known + (0.4 if _IDENTIFIER.search(question) else 0.0)


def fusion_share(question: str, known: float) -> float:
    """The keyword channel's share in z-score fusion for this question."""
    return min(0.5, ZSCORE_BASE * known + (ZSCORE_ID_BOOST if _IDENTIFIER.search(question) else 0.0))


def channel_correlation(zd: np.ndarray, zk: np.ndarray, mask: np.ndarray) -> float:
    """The two channels' correlation over the masked candidates, floored at 0 (0 for fewer than 3 or a flat channel)."""
    if mask.sum() > 2 and zd[mask].std() > 1e-9 and zk[mask].std() > 1e-9:
        return max(0.0, float(np.corrcoef(zd[mask], zk[mask])[0, 1]))
    return 0.0


def standardise(x: np.ndarray, ref: np.ndarray | None = None) -> np.ndarray:
    """z-scores of x against the mean and spread of ref (x itself by default); zeros when ref is flat."""
    ref = x if ref is None else ref
    sd = ref.std()
    return (x - ref.mean()) / sd if sd > 1e-9 else np.zeros_like(x)


class Retriever:
    """Searches one index with one embedding model."""

    def __init__(self, index: Index, embed_spec: str, embedder: Embedder | None = None, runtime: str = "auto") -> None:
        self.index = index
        index.check_model(canonical_model_name(embed_spec))
        index.require_documents()
        index.vectors.bind_model(embed_spec)
        self._spec, self._runtime = embed_spec, runtime
        self._last_terms: list[str] = []
        self._qmemo: tuple[str, np.ndarray] | None = None
        self._embedder = embedder
        self.dense_stats: tuple[float, float] | None = None  # mean and spread of the last question's similarities

    @property
    def embedder(self) -> Embedder:
        """The query embedder (loaded on first use)."""
        if self._embedder is None:
            self._embedder = get_embedder(self._spec, self._runtime)
        return self._embedder

    def allowed_docs(self, filters: Filters | None) -> list[str] | None:
        """The doc ids a filtered search may return, or None for all."""
        if filters is None or not filters.active():
            return None
        filters = check_filters(filters, self.index.manifest.document_types())
        docs = self.index.manifest.filter_doc_ids(
            filters.lang, filters.type, filters.since, filters.until, filters.source
        )
        if not docs:
            raise QuestionError(f"no indexed document matches the filters {filters.describe()}")
        return docs

    def query_vector(self, question: str) -> np.ndarray:
        """The question's query vector (the last question's is kept, so answering reuses retrieval's)."""
        if self._qmemo is None or self._qmemo[0] != question:
            self._qmemo = (question, self.embedder.embed_query(question))
        return self._qmemo[1]

    def dense(self, question: str, k: int, docs: list[str] | None = None) -> list[tuple[str, float]]:
        """Nearest chunks by cosine similarity of e5 vectors, less a share of each chunk's hubness (with their similarity)."""
        found = self.index.vectors.query(self.query_vector(question), k, docs, HUB_WEIGHT)
        stats = self.index.vectors.last_stats
        if stats is None and len(found) > 2:  # no exact search (a Chroma server): the candidates' spread
            sims = np.array([s for _, s in found])
            stats = (float(sims.mean()), float(sims.std()))
        self.dense_stats = stats
        return found

    def keyword(self, question: str, k: int, docs: list[str] | None = None) -> list[tuple[str, float]]:
        """Best chunks by BM25 over stemmed terms, the question analysed in its language(s)."""
        terms = query_terms(question)
        self._last_terms = terms
        allowed = None
        if docs is not None:
            allowed = {cid for d in docs for cid in self._chunk_ids_of(d)}
        return self.index.keyword.search(terms, k, allowed)

    def _chunk_ids_of(self, doc_id: str) -> list[str]:
        return [c.id for c in self.index.manifest.chunks_of(doc_id)]

    def search(
        self, question: str, k: int = 10, filters: Filters | None = None, mode: str = "hybrid"
    ) -> list[Hit]:
        """The k best chunks for a question."""
        check_mode(mode)
        self.dense_stats = None
        docs = self.allowed_docs(filters)
        n = max(CANDIDATES, 3 * k)
        dense = self.dense(question, n, docs) if mode in ("hybrid", "dense") else []
        kw = self.keyword(question, n, docs) if mode in ("hybrid", "keyword") else []
        holders = self.exact_holders(question, docs) if mode in ("hybrid", "keyword") else set()
        if holders:  # every chunk writing the identifier is a keyword candidate, however BM25 ranked it
            have = {cid for cid, _ in kw}
            extra = self.index.keyword.scores_of(self._last_terms, [c for c in holders if c not in have])
            kw = sorted([*kw, *extra.items()], key=lambda x: -x[1])
        fusion = os.environ.get("ASSISTANT_FUSION", DEFAULT_FUSION)
        if mode != "hybrid" or fusion == "rrf":
            wk, known = 1.0, 0.0
        else:
            known = known_share(self._last_terms, self.index.keyword.vocab)
            wk = keyword_weight(question, known) if self._last_terms else 0.0
        dense_s = dict(dense)  # the fusion adds the dense similarity of keyword-only candidates
        kw_s = dict(kw)
        found = {"dense": set(dense_s), "keyword": set(kw_s)}  # which channel retrieved which chunk
        fused: dict[str, float] = {}
        if fusion == "zscore-adaptive" and mode == "hybrid" and dense and kw:
            fused = self._zscore_fusion(question, dense_s, kw_s, known)
        elif fusion == "convex-adaptive" and mode == "hybrid":
            alpha = wk / (1.0 + wk)
            if dense:
                lo, hi = min(dense_s.values()), max(dense_s.values())
                for cid, sc in dense:
                    fused[cid] = (1 - alpha) * ((sc - lo) / (hi - lo) if hi > lo else 1.0)
            if kw:
                top = max(kw_s.values()) or 1.0
                for cid, sc in kw:
                    fused[cid] = fused.get(cid, 0.0) + alpha * sc / top
        else:
            for r, (cid, _) in enumerate(dense):
                fused[cid] = fused.get(cid, 0.0) + 1.0 / (RRF_K + r + 1)
            for r, (cid, _) in enumerate(kw):
                fused[cid] = fused.get(cid, 0.0) + wk / (RRF_K + r + 1)
        if holders:
            lift_exact(fused, holders)  # "33 92 43 95" ranks the passage writing it above those sharing some parts
        order = sorted(fused, key=lambda c: -fused[c])
        chunks = self.index.manifest.chunks_by_ids(order[: max(4 * k, 40)])
        hits = [
            Hit(chunks[c], fused[c], dense_s.get(c), kw_s.get(c),
                channels=[ch for ch, ids in found.items() if c in ids])
            for c in order
            if c in chunks
        ]
        hits = diversify(hits, k)
        self._fill_dense(hits, question)
        for i, h in enumerate(hits):
            h.rank = i + 1
        return hits

    def exact_holders(self, question: str, docs: list[str] | None = None) -> set[str]:
        """The chunks (of these documents) that write a multi-part identifier of the question, whitespace aside.

        Nothing is read for a question without one. The keyword index's postings give the chunks holding
        every part ("33", "92", "43", "95"); at most EXACT_CHECK of them, the best by BM25, are read.
        """
        idents = identifiers(question)
        if not idents:
            return set()
        allowed = set(docs) if docs is not None else None
        out: set[str] = set()
        for ident in idents:
            cands = self._holding_all(list(dict.fromkeys(raw_tokens(ident))))
            if not cands:
                continue
            rx = identifier_pattern(ident)
            for cid, rec in self.index.manifest.chunks_by_ids(cands).items():
                if (allowed is None or rec.doc_id in allowed) and rx.search(rec.text):
                    out.add(cid)
        return out

    def _holding_all(self, terms: list[str]) -> list[str]:
        """Chunk ids whose keyword terms include every one of these (the EXACT_CHECK best by their BM25 sum)."""
        kw = self.index.keyword
        if kw.csc is None or not terms:
            return []
        data, indices, indptr = kw.csc
        cols = []
        for t in terms:
            tid = kw.vocab.get(t)
            if tid is None or tid >= len(indptr) - 1:
                return []  # a part no chunk has: no chunk has them all
            a, b = int(indptr[tid]), int(indptr[tid + 1])
            cols.append((np.asarray(indices[a:b]), np.asarray(data[a:b])))
        cols.sort(key=lambda c: len(c[0]))
        rows = np.unique(cols[0][0])
        for idx, _ in cols[1:]:
            rows = np.intersect1d(rows, idx)
            if not len(rows):
                return []
        if len(rows) > EXACT_CHECK:
            score = np.zeros(len(rows), dtype=np.float64)
            for idx, val in cols:
                _, at_rows, at_col = np.intersect1d(rows, idx, assume_unique=True, return_indices=True)
                score[at_rows] += val[at_col]
            rows = rows[np.argsort(-score, kind="stable")[:EXACT_CHECK]]
        return [kw.ids[int(i)] for i in rows]

    def _zscore_fusion(self, question: str, dense_s: dict[str, float], kw_s: dict[str, float], known: float) -> dict[str, float]:
        """Fuse standardised dense and BM25 scores over the union of both candidate lists.

        Each channel's scores are turned into z-scores over the candidates, so a chunk that is far
        above the rest in one channel keeps that margin (rank fusion throws it away). The keyword
        share grows with how much of the question the keyword vocabulary knows.
        """
        alpha = fusion_share(question, known)
        exact = self._exact_identifier(question) or self._lookup(question)
        if exact:
            alpha = max(alpha, ZSCORE_EXACT_ID)  # a case, circular or phone number, or a name, names its document
        union, zd, zk = self._standardised(question, dense_s, kw_s)
        zk = self._cross_language_keyword(question, union, zd, zk, exact)
        f = (1 - alpha) * zd + alpha * zk
        return {c: float(v) for c, v in zip(union, f)}

    def _exact_identifier(self, question: str) -> bool:
        """Whether the question holds a joined identifier ("1997:145") or a phone number the index knows."""
        vocab = self.index.keyword.vocab
        if any(_JOINED_ID.fullmatch(t) and t in vocab for t in self._last_terms):
            return True
        return any(all(p in vocab for p in re.split(r"[ -]", m.group(0))) for m in _PHONE.finditer(question))

    def _lookup(self, question: str) -> bool:
        """Whether the query is a look-up rather than a question: at most three words, no question mark, each known.

        "Velfærdsministeriet" or "Svenska Röda Korset" asks for the documents that name it; a word counts
        as known when any of its analyses (Danish, Swedish) is in the keyword vocabulary.
        """
        if "?" in question:
            return False
        words = _WORD.findall(question)
        if not words or len(words) > LOOKUP_WORDS:
            return False
        vocab, langs = self.index.keyword.vocab, query_languages(question)
        return all(any(t in vocab for t in analyze(w, langs)) for w in words)

    def _cross_language_keyword(
        self, question: str, union: list[str], zd: np.ndarray, zk: np.ndarray, exact: bool = False
    ) -> np.ndarray:
        """Keyword z-scores in which candidates in another language than the question's get an estimate.

        BM25 cannot rank passages in another language: stems differ, so the passage that answers may share
        none with the question while another passage shares a cognate, a year or a name by chance. Such a
        candidate gets the keyword z-score its dense z-score predicts instead: the dense z-score times the two
        channels' correlation over the question's own-language candidates (no tuned constant; 0 when there
        are none, as for an English question about Danish and Swedish documents). A joined identifier or
        phone number the index knows ("1997:145", "40 70 69 01") matches in any language, so with one in the
        question (`exact`) a higher real keyword z-score stays.
        """
        qlangs = set(query_languages(question))
        if "en" in qlangs:  # an English question is read in all three languages for BM25, but is English
            qlangs = {"en"}
        other = self._foreign(union, qlangs)
        if not other.any():
            return zk
        guess = channel_correlation(zd, zk, ~other) * zd
        if exact:  # "J.nr. 2008-1550" names its document in any language
            guess = np.maximum(zk, guess)
        return np.where(other, guess, zk)

    def _foreign(self, union: list[str], qlangs: set[str]) -> np.ndarray:
        """Which candidates are in a language other than these (candidates of unknown language are not)."""
        langs = self.index.manifest.chunk_languages(union)
        return np.fromiter(
            ((cl := langs.get(c)) is not None and cl not in qlangs for c in union), dtype=bool, count=len(union)
        )

    def _raw_union_scores(
        self, question: str, union: list[str], dense_s: dict[str, float], kw_s: dict[str, float]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Both channels' raw scores for every candidate either channel found (dense_s gains the missing ones)."""
        missing = [c for c in union if c not in dense_s]
        if missing:
            qvec = self.query_vector(question)
            vecs = self.index.vectors.get_vectors(missing)
            for c in missing:
                if c in vecs:
                    dense_s[c] = float(np.dot(vecs[c], qvec))
        kw_all = self.index.keyword.scores_of(self._last_terms, [c for c in union if c not in kw_s])
        d = np.array([dense_s.get(c, min(dense_s.values())) for c in union], dtype=np.float64)
        mirror = self.index.vectors.mirror()
        if mirror is not None and HUB_WEIGHT:
            d -= HUB_WEIGHT * mirror.hub_of(union)
        k = np.array([kw_s.get(c, kw_all.get(c, 0.0)) for c in union], dtype=np.float64)
        return d, k

    def _standardised(
        self, question: str, dense_s: dict[str, float], kw_s: dict[str, float]
    ) -> tuple[list[str], np.ndarray, np.ndarray]:
        """The candidate union with each channel's z-scores over it."""
        union = list(dict.fromkeys([*dense_s, *kw_s]))
        d, k = self._raw_union_scores(question, union, dense_s, kw_s)
        return union, standardise(d), standardise(k)

    def _fill_dense(self, hits: list[Hit], question: str) -> None:
        """Give every hit its dense similarity to this question (keyword-only hits lack one)."""
        missing = [h for h in hits if h.dense is None]
        if not missing:
            return
        qvec = self.query_vector(question)  # computed by the dense channel already, unless keyword-only
        vecs = self.index.vectors.get_vectors([h.chunk.id for h in missing])
        for h in missing:
            v = vecs.get(h.chunk.id)
            if v is not None:
                h.dense = float(np.dot(v, qvec))


def diversify(hits: list[Hit], k: int, cap: int = PER_DOC_CAP) -> list[Hit]:
    """The top k with at most `cap` chunks of one document (others fill in if too few)."""
    out: list[Hit] = []
    per: dict[str, int] = {}
    rest: list[Hit] = []
    for h in hits:
        if per.get(h.chunk.doc_id, 0) < cap:
            out.append(h)
            per[h.chunk.doc_id] = per.get(h.chunk.doc_id, 0) + 1
        else:
            rest.append(h)
        if len(out) >= k:
            return out
    return (out + rest)[:k]
