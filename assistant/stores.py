"""The index on disk: a SQLite manifest (truth), Chroma vectors, a BM25 keyword index and a dense mirror."""

from __future__ import annotations

import datetime
import json
import os
import re
import shutil
import sqlite3
import time
import uuid
from array import array
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import EXIT_USAGE, AssistantError, IndexLockedError, IndexMissingError, ModelMismatchError
from .language import ANALYZER_VERSION

MANIFEST = "manifest.sqlite"
CHROMA_DIR = "chroma"
KEYWORD_DIR = "keyword"
DENSE_DIR = "dense"
BM25_K1 = 1.2
BM25_B = 0.75
LOCK_FILE = "ingest.lock"
COLLECTION = "chunks"
SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    path TEXT NOT NULL UNIQUE,          -- resolved absolute path: the document's identity
    source TEXT NOT NULL,               -- the path as ingested (shown to users)
    content_hash TEXT NOT NULL,
    title TEXT NOT NULL,
    type TEXT,
    language TEXT NOT NULL,
    date TEXT,
    publisher TEXT,
    text TEXT NOT NULL,                 -- canonical text: every offset points into it
    page_starts TEXT,                   -- JSON list or NULL
    n_chunks INTEGER NOT NULL,
    size INTEGER,
    mtime REAL,
    ingested_at TEXT NOT NULL,
    ocr INTEGER NOT NULL DEFAULT 0      -- 1: some page was read by OCR (a scan)
);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    page INTEGER,
    page_end INTEGER,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    text TEXT NOT NULL,
    terms TEXT NOT NULL                 -- space-joined keyword terms
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id, seq);
-- covering indexes: each search reads its ~100 candidates' languages from these few pages, not from the
-- rows that hold chunk and document texts (17 ms -> 1 ms at 109k chunks when those pages are not cached)
CREATE INDEX IF NOT EXISTS chunks_id_doc ON chunks(id, doc_id);
CREATE INDEX IF NOT EXISTS documents_language ON documents(doc_id, language);
CREATE TABLE IF NOT EXISTS fingerprints (   -- for duplicate and near-duplicate detection
    doc_id TEXT PRIMARY KEY REFERENCES documents(doc_id) ON DELETE CASCADE,
    text_hash TEXT NOT NULL,            -- sha256 of the canonical text
    minhash BLOB NOT NULL               -- MinHash signature of word 5-gram shingles
);
CREATE INDEX IF NOT EXISTS fingerprints_text ON fingerprints(text_hash);
CREATE TABLE IF NOT EXISTS aliases (        -- files whose text is already stored as another document
    path TEXT PRIMARY KEY,
    source TEXT NOT NULL,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    content_hash TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS near_duplicates (
    a TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    b TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    similarity REAL NOT NULL,           -- Jaccard similarity of word 5-gram shingles
    PRIMARY KEY (a, b)
);
"""


@dataclass
class DocumentRecord:
    """A document as the manifest holds it."""

    doc_id: str
    path: str
    source: str
    content_hash: str
    title: str
    type: str | None
    language: str
    date: str | None
    publisher: str | None
    text: str
    page_starts: list[int] | None
    n_chunks: int
    size: int | None = None
    mtime: float | None = None
    ingested_at: str = ""
    ocr: bool = False  # some page was read by OCR


@dataclass
class ChunkRecord:
    """A chunk as the manifest holds it, with its document's descriptive fields."""

    id: str
    doc_id: str
    seq: int
    page: int | None
    page_end: int | None
    start: int
    end: int
    text: str
    terms: str = ""
    source: str = ""
    title: str = ""
    language: str = ""
    type: str | None = None
    date: str | None = None


_DATE = re.compile(r"(\d{4})(?:-(\d{2})(?:-(\d{2}))?)?")


def is_date(text: str) -> bool:
    """Whether text is a real calendar date written YYYY, YYYY-MM or YYYY-MM-DD."""
    m = _DATE.fullmatch(text)
    if m is None:
        return False
    try:
        datetime.date(int(m.group(1)), int(m.group(2) or 1), int(m.group(3) or 1))
    except ValueError:
        return False
    return True


def date_key(date: str | None) -> int:
    """A sortable integer for a document date: 2010-11-30 → 20101130, 2010 → 20100101, none → 0."""
    if not date:
        return 0
    parts = (str(date).split("-") + ["01", "01"])[:3]
    try:
        y, m, d = (int(p) for p in parts)
    except ValueError:
        return 0
    return y * 10000 + m * 100 + d


class Manifest:
    """The SQLite file that says which documents and chunks the index holds."""

    def __init__(self, path: Path, create: bool = False) -> None:
        if not create and not path.exists():
            raise IndexMissingError(
                f"{path.parent}: no index here; run `assistant ingest` first (or set --index / ASSISTANT_INDEX)"
            )
        self.path = path
        self._language_indexes: bool | None = None
        try:
            self.db = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.execute("PRAGMA synchronous=NORMAL")
            if create:
                self.db.executescript(_SCHEMA)
            else:
                self.db.execute("SELECT 1 FROM documents LIMIT 1")
            self._ocr_col = "ocr" if self._has_ocr() else "0"
        except sqlite3.DatabaseError as exc:
            raise IndexMissingError(f"{path}: the index manifest is unreadable ({exc}); rebuild with `assistant ingest --full`") from None

    def close(self) -> None:
        """Close the database connection."""
        self.db.close()

    def _has_ocr(self) -> bool:
        """Whether the documents table has the ocr column (an index made before it existed has not)."""
        return any(r[1] == "ocr" for r in self.db.execute("PRAGMA table_info(documents)"))

    def _add_ocr(self) -> None:
        """Give an older index's documents table the ocr column (an ingest writes; readers do without)."""
        if not self._has_ocr():
            self.db.execute("ALTER TABLE documents ADD COLUMN ocr INTEGER NOT NULL DEFAULT 0")
        self._ocr_col = "ocr"

    # meta
    def get_meta(self, key: str, default: str | None = None) -> str | None:
        """One value of the meta table."""
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: object) -> None:
        """Set one value of the meta table."""
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, str(value)))

    @property
    def generation(self) -> int:
        """A counter bumped by every ingest that changed something."""
        return int(self.get_meta("generation", "0") or 0)

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write: all or nothing, even if the process is killed."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # documents
    def documents(self) -> list[DocumentRecord]:
        """All documents, ordered by source."""
        rows = self.db.execute(
            "SELECT doc_id, path, source, content_hash, title, type, language, date, publisher, '', "
            f"page_starts, n_chunks, size, mtime, ingested_at, {self._ocr_col} FROM documents ORDER BY source"
        ).fetchall()
        return [self._doc(r) for r in rows]

    def document_types(self) -> list[str]:
        """The document types the index holds."""
        return [r[0] for r in self.db.execute("SELECT DISTINCT type FROM documents WHERE type IS NOT NULL ORDER BY type")]

    def document(self, doc_id: str) -> DocumentRecord | None:
        """One document with its canonical text."""
        r = self.db.execute(
            "SELECT doc_id, path, source, content_hash, title, type, language, date, publisher, text, "
            f"page_starts, n_chunks, size, mtime, ingested_at, {self._ocr_col} FROM documents WHERE doc_id=?",
            (doc_id,),
        ).fetchone()
        return self._doc(r) if r else None

    @staticmethod
    def _doc(r: Sequence) -> DocumentRecord:
        return DocumentRecord(
            r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9],
            json.loads(r[10]) if r[10] else None, r[11], r[12], r[13], r[14], bool(r[15]) if len(r) > 15 else False,
        )

    def document_text(self, doc_id: str) -> str | None:
        """The canonical text of a document."""
        r = self.db.execute("SELECT text FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
        return r[0] if r else None

    def remove_document(self, doc_id: str) -> None:
        """Delete a document and its chunks (call inside a transaction)."""
        self.db.execute("DELETE FROM documents WHERE doc_id=?", (doc_id,))

    # chunks
    _CHUNK_SELECT = (
        "SELECT c.id, c.doc_id, c.seq, c.page, c.page_end, c.start, c.end, c.text, '', d.source, d.title, "
        "d.language, d.type, d.date FROM chunks c JOIN documents d ON d.doc_id = c.doc_id"
    )

    def chunks_by_ids(self, ids: Sequence[str]) -> dict[str, ChunkRecord]:
        """Chunks for the given ids that the manifest knows (unknown ids are left out)."""
        return {r[0]: ChunkRecord(*r) for r in self._rows_in(f"{self._CHUNK_SELECT} WHERE c.id", ids)}

    def chunk_languages(self, ids: Iterable[str]) -> dict[str, str | None]:
        """The language of each given chunk's document."""
        if self._language_indexes is None:  # an index from before them gets them at its next ingest
            names = {r[0] for r in self.db.execute("SELECT name FROM sqlite_master WHERE type='index'")}
            self._language_indexes = {"chunks_id_doc", "documents_language"} <= names
        if self._language_indexes:  # SQLite's planner would pick the primary keys and read the rows
            sql = ("SELECT c.id, d.language FROM chunks c INDEXED BY chunks_id_doc "
                   "JOIN documents d INDEXED BY documents_language ON d.doc_id = c.doc_id WHERE c.id")
        else:
            sql = "SELECT c.id, d.language FROM chunks c JOIN documents d ON d.doc_id = c.doc_id WHERE c.id"
        return dict(self._rows_in(sql, ids))

    def _rows_in(self, sql: str, values: Iterable[str]) -> Iterator[tuple]:
        """Rows of `sql IN (values)`, in batches below SQLite's limit on bound parameters."""
        values = list(values)
        for i in range(0, len(values), 500):
            part = values[i : i + 500]
            yield from self.db.execute(f"{sql} IN ({','.join('?' * len(part))})", part)

    def chunks_of(self, doc_id: str) -> list[ChunkRecord]:
        """All chunks of one document, in order."""
        q = f"{self._CHUNK_SELECT} WHERE c.doc_id=? ORDER BY c.seq"
        return [ChunkRecord(*r) for r in self.db.execute(q, (doc_id,))]

    def chunk_terms(self) -> Iterator[tuple[str, list[str]]]:
        """Every chunk id with its keyword terms, in a stable order (streamed: 100k chunks hold ~8M terms)."""
        for cid, t in self.db.execute("SELECT id, terms FROM chunks ORDER BY doc_id, seq"):
            yield cid, t.split()

    def chunk_order(self) -> list[tuple[str, str]]:
        """(chunk id, document id) of every chunk, in the order of chunk_terms()."""
        return self.db.execute("SELECT id, doc_id FROM chunks ORDER BY doc_id, seq").fetchall()

    def rewrite_terms(self, terms: Callable[[str, str, str], str], batch: int = 2000) -> int:
        """Recompute every chunk's keyword terms from (title, text, language); returns the chunks rewritten."""
        done, last = 0, -1
        while True:  # page by rowid: memory stays bounded at 100k chunks
            rows = self.db.execute(
                "SELECT c.rowid, c.id, d.title, c.text, d.language FROM chunks c JOIN documents d ON d.doc_id = c.doc_id "
                "WHERE c.rowid > ? ORDER BY c.rowid LIMIT ?", (last, batch)
            ).fetchall()
            if not rows:
                return done
            self.db.executemany(
                "UPDATE chunks SET terms=? WHERE id=?", [(terms(t, x, lang), cid) for _, cid, t, x, lang in rows]
            )
            done += len(rows)
            last = rows[-1][0]

    def terms_of(self, ids: Iterable[str]) -> Iterator[tuple[str, list[str]]]:
        """The keyword terms of the given chunks."""
        for cid, t in self._rows_in("SELECT id, terms FROM chunks WHERE id", ids):
            yield cid, t.split()

    def staged_doc_ids(self) -> set[str]:
        """The ids of the documents staged for the next commit."""
        return {r[0] for r in self.db.execute("SELECT doc_id FROM temp.stage_documents")}

    def chunk_ids(self) -> set[str]:
        """The ids of every chunk."""
        return {r[0] for r in self.db.execute("SELECT id FROM chunks")}

    def known_chunk_ids(self, ids: Iterable[str]) -> set[str]:
        """Those of the given chunk ids that the manifest holds."""
        return {r[0] for r in self._rows_in("SELECT id FROM chunks WHERE id", ids)}

    def chunk_ids_replaced(self, removed_doc_ids: Sequence[str]) -> set[str]:
        """Chunk ids of the documents that committing the stage (plus these removals) will delete."""
        ids = {r[0] for r in self.db.execute(
            "SELECT c.id FROM chunks c JOIN documents d ON d.doc_id = c.doc_id "
            "WHERE d.doc_id IN (SELECT doc_id FROM temp.stage_documents) "
            "OR d.path IN (SELECT path FROM temp.stage_documents)"
        )}
        ids.update(r[0] for r in self._rows_in("SELECT id FROM chunks WHERE doc_id", removed_doc_ids))
        return ids

    def counts(self) -> tuple[int, int]:
        """Number of documents and chunks."""
        d = self.db.execute("SELECT COUNT(*) FROM documents").fetchone()[0]
        c = self.db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0]
        return d, c

    def filter_doc_ids(
        self,
        lang: str | None = None,
        doc_type: str | None = None,
        since: str | None = None,
        until: str | None = None,
        source_glob: str | None = None,
    ) -> list[str]:
        """The documents that pass the given filters."""
        import fnmatch

        out = []
        for d in self.documents():
            if lang and d.language != lang:
                continue
            if doc_type and (d.type or "") != doc_type:
                continue
            dk = date_key(d.date)
            if since and (dk == 0 or dk < date_key(since)):
                continue
            if until and (dk == 0 or dk > end_key(until)):
                continue
            if source_glob and not (
                fnmatch.fnmatch(d.source, source_glob) or fnmatch.fnmatch(Path(d.source).name, source_glob)
            ):
                continue
            out.append(d.doc_id)
        return out


    # --- ingest staging, fingerprints, duplicates (aliases) and near-duplicates ------------------
    _DOC_COLS = (
        "doc_id, path, source, content_hash, title, type, language, date, publisher, text, "
        "page_starts, n_chunks, size, mtime, ingested_at, ocr"
    )
    _CHUNK_COLS = "id, doc_id, seq, page, page_end, start, end, text, terms"

    def start_staging(self) -> None:
        """Empty temporary tables (this connection only, spilled to disk) that collect an ingest's documents."""
        self.db.execute("PRAGMA temp_store=FILE")
        self._add_ocr()
        self.db.executescript(
            "DROP TABLE IF EXISTS temp.stage_documents; DROP TABLE IF EXISTS temp.stage_chunks;"
            "DROP TABLE IF EXISTS temp.stage_fingerprints;"
            f"CREATE TEMP TABLE stage_documents AS SELECT {self._DOC_COLS} FROM main.documents WHERE 0;"
            f"CREATE TEMP TABLE stage_chunks AS SELECT {self._CHUNK_COLS} FROM main.chunks WHERE 0;"
            "CREATE TEMP TABLE stage_fingerprints AS SELECT doc_id, text_hash, minhash FROM main.fingerprints WHERE 0;"
            # near-duplicate checks read staged texts by id: without an index every read scans the stage
            "CREATE INDEX temp.stage_documents_doc ON stage_documents(doc_id);"
        )

    def stage_chunks(self, doc_id: str, chunks: Sequence[ChunkRecord]) -> None:
        """Park some chunks of a document being prepared (see stage_document)."""
        self.db.executemany(
            f"INSERT INTO temp.stage_chunks({self._CHUNK_COLS}) VALUES (?,?,?,?,?,?,?,?,?)",
            [(c.id, doc_id, c.seq, c.page, c.page_end, c.start, c.end, c.text, c.terms) for c in chunks],
        )

    def stage_document(self, doc: DocumentRecord, n_chunks: int, text_hash: str, minhash: bytes) -> None:
        """Park a prepared document until commit_staged (not visible to readers, gone if the process dies)."""
        self.db.execute(
            f"INSERT INTO temp.stage_documents({self._DOC_COLS}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                doc.doc_id, doc.path, doc.source, doc.content_hash, doc.title, doc.type, doc.language,
                doc.date, doc.publisher, doc.text, json.dumps(doc.page_starts) if doc.page_starts else None,
                n_chunks, doc.size, doc.mtime, doc.ingested_at, int(doc.ocr),
            ),
        )
        self.db.execute("INSERT INTO temp.stage_fingerprints VALUES (?,?,?)", (doc.doc_id, text_hash, minhash))

    def staged_text(self, doc_id: str) -> str | None:
        """The canonical text of a staged document."""
        r = self.db.execute("SELECT text FROM temp.stage_documents WHERE doc_id=?", (doc_id,)).fetchone()
        return r[0] if r else None

    def commit_staged(self) -> None:
        """Move the staged documents into the index, replacing any with the same id or path (inside a transaction)."""
        self.db.execute(
            "DELETE FROM main.documents WHERE doc_id IN (SELECT doc_id FROM temp.stage_documents) "
            "OR path IN (SELECT path FROM temp.stage_documents)"
        )
        self.db.execute("DELETE FROM main.aliases WHERE path IN (SELECT path FROM temp.stage_documents)")
        self.db.execute(f"INSERT INTO main.documents({self._DOC_COLS}) SELECT {self._DOC_COLS} FROM temp.stage_documents")
        self.db.execute(f"INSERT INTO main.chunks({self._CHUNK_COLS}) SELECT {self._CHUNK_COLS} FROM temp.stage_chunks")
        self.db.execute(
            "INSERT OR REPLACE INTO main.fingerprints(doc_id, text_hash, minhash) "
            "SELECT doc_id, text_hash, minhash FROM temp.stage_fingerprints"
        )

    def _read_extra(self, sql: str, args: Sequence = ()) -> list:
        try:
            return self.db.execute(sql, args).fetchall()
        except sqlite3.OperationalError:  # an index made before these tables existed, opened read-only
            return []

    def fingerprints(self) -> dict[str, tuple[str, bytes]]:
        """doc_id → (text hash, MinHash signature)."""
        return {r[0]: (r[1], r[2]) for r in self._read_extra("SELECT doc_id, text_hash, minhash FROM fingerprints")}

    def put_fingerprint(self, doc_id: str, text_hash: str, minhash: bytes) -> None:
        """Record a document's fingerprint (inside a transaction)."""
        self.db.execute("INSERT OR REPLACE INTO fingerprints VALUES (?,?,?)", (doc_id, text_hash, minhash))

    def aliases(self) -> dict[str, dict]:
        """Files stored as another document (same text): path → {path, source, doc_id, content_hash}."""
        rows = self._read_extra("SELECT path, source, doc_id, content_hash FROM aliases ORDER BY source")
        return {r[0]: {"path": r[0], "source": r[1], "doc_id": r[2], "content_hash": r[3]} for r in rows}

    def put_alias(self, path: str, source: str, doc_id: str, content_hash: str) -> None:
        """Record that the file at path holds the same text as doc_id (inside a transaction)."""
        self.db.execute("INSERT OR REPLACE INTO aliases VALUES (?,?,?,?)", (path, source, doc_id, content_hash))

    def remove_alias(self, path: str) -> None:
        """Forget a duplicate file (inside a transaction)."""
        self.db.execute("DELETE FROM aliases WHERE path=?", (path,))

    def duplicates(self) -> list[dict]:
        """Files stored once under another name: [{source, duplicate_of, doc_id}]."""
        rows = self._read_extra(
            "SELECT a.source, d.source, a.doc_id FROM aliases a JOIN documents d ON d.doc_id = a.doc_id ORDER BY a.source"
        )
        return [{"source": r[0], "duplicate_of": r[1], "doc_id": r[2]} for r in rows]

    def put_near_duplicate(self, a: str, b: str, similarity: float) -> None:
        """Record two documents whose texts are near-duplicates (inside a transaction)."""
        a, b = sorted((a, b))
        self.db.execute("INSERT OR REPLACE INTO near_duplicates VALUES (?,?,?)", (a, b, float(similarity)))

    def near_duplicates(self) -> list[dict]:
        """Pairs of near-duplicate documents: [{a, b, similarity, a_doc_id, b_doc_id}] (a, b are sources)."""
        rows = self._read_extra(
            "SELECT da.source, db.source, n.similarity, n.a, n.b FROM near_duplicates n "
            "JOIN documents da ON da.doc_id = n.a JOIN documents db ON db.doc_id = n.b ORDER BY n.similarity DESC, da.source"
        )
        return [{"a": r[0], "b": r[1], "similarity": round(r[2], 3), "a_doc_id": r[3], "b_doc_id": r[4]} for r in rows]


def end_key(date: str) -> int:
    """The last day covered by a possibly partial date: 2010 → 20101231."""
    parts = str(date).split("-")
    if len(parts) == 1:
        return date_key(date) + 1130
    if len(parts) == 2:
        return date_key(date) + 30
    return date_key(date)


class VectorStore:
    """The Chroma collection of chunk vectors: local PersistentClient, or a server by URL."""

    def __init__(self, index_dir: Path, url: str | None = None, collection: str = COLLECTION) -> None:
        self.index_dir = index_dir
        self.url = normalize_chroma_url(url) if url else None
        self.collection_name = collection
        self._col = None
        # Set by Index: returns the dense mirror when it matches the manifest (local mode), else None.
        self.mirror: Callable[[], DenseMirror | None] = lambda: None
        # The last query's mean and spread of cosines over the whole index (exact search only), else None.
        self.last_stats: tuple[float, float] | None = None

    def _client(self):
        os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
        if self.url:
            check_chroma_server(self.url)
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        if self.url:
            from urllib.parse import urlparse

            u = urlparse(self.url)
            try:
                client = chromadb.HttpClient(
                    host=u.hostname or "localhost",
                    port=u.port or (443 if u.scheme == "https" else 8000),
                    ssl=u.scheme == "https",
                    settings=settings,
                )
            except Exception as exc:
                raise _server_error(self.url, exc) from None
            _set_http_timeouts(client)
            return client
        return chromadb.PersistentClient(path=str(self.index_dir / CHROMA_DIR), settings=settings)

    @property
    def collection(self):
        """The Chroma collection, created on first use with the project's embedding function."""
        if self._col is None:
            from .embedding import get_embedder

            client = self._client()
            ef = _chroma_embedding_function(lambda: get_embedder(self._model_spec))
            with self._guard():
                self._col = client.get_or_create_collection(
                    self.collection_name,
                    embedding_function=ef,
                    metadata={"hnsw:space": "cosine"},
                )
        return self._col

    @contextmanager
    def _guard(self) -> Iterator[None]:
        """Turn a lost or failing Chroma server into one clear line (local mode: unchanged)."""
        try:
            yield
        except AssistantError:
            raise
        except Exception as exc:
            if self.url and _is_connection_error(exc):
                raise _server_error(self.url, exc) from None
            raise

    def drop(self) -> None:
        """Delete the whole collection (used by `ingest --full`)."""
        with self._guard():
            client = self._client()
            try:
                client.delete_collection(self.collection_name)
            except Exception as exc:
                if self.url and _is_connection_error(exc):
                    raise
        self._col = None

    _model_spec = "multilingual-e5-small"

    def bind_model(self, spec: str) -> None:
        """The model the embedding function uses if Chroma ever asks it to embed."""
        self._model_spec = spec

    def get_vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors for the ids Chroma has: what the up-to-date mirror holds, the rest from Chroma."""
        mirror = self.mirror()
        out = mirror.get(ids) if mirror is not None else {}
        rest = [cid for cid in dict.fromkeys(ids) if cid not in out]
        if rest:
            out.update(self.get_vectors_from_chroma(rest))
        return out

    def get_vectors_from_chroma(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Stored vectors for the ids Chroma has, read from Chroma itself."""
        out: dict[str, np.ndarray] = {}
        ids = list(ids)
        with self._guard():
            for i in range(0, len(ids), 1000):
                res = self.collection.get(ids=ids[i : i + 1000], include=["embeddings"])
                for cid, emb in zip(res["ids"], res["embeddings"]):
                    out[cid] = np.asarray(emb, dtype=np.float32)
        return out

    def upsert(self, ids: Sequence[str], vectors: np.ndarray, metadatas: Sequence[dict]) -> None:
        """Add or replace vectors with their filter metadata."""
        with self._guard():
            for i in range(0, len(ids), 2000):
                self.collection.upsert(
                    ids=list(ids[i : i + 2000]),
                    embeddings=vectors[i : i + 2000],
                    metadatas=list(metadatas[i : i + 2000]),
                )

    def all_ids(self) -> set[str]:
        """Every id in the collection."""
        out: set[str] = set()
        offset = 0
        with self._guard():
            while True:
                res = self.collection.get(include=[], limit=5000, offset=offset)
                out.update(res["ids"])
                if len(res["ids"]) < 5000:
                    return out
                offset += 5000

    def delete(self, ids: Iterable[str]) -> None:
        """Remove vectors by id."""
        ids = list(ids)
        with self._guard():
            for i in range(0, len(ids), 2000):
                self.collection.delete(ids=ids[i : i + 2000])

    def count(self) -> int:
        """Number of vectors."""
        with self._guard():
            return self.collection.count()

    def query(
        self, vector: np.ndarray, k: int, doc_ids: Sequence[str] | None = None, hub_weight: float = 0.0
    ) -> list[tuple[str, float]]:
        """The k nearest chunk ids with cosine similarity, optionally within some documents.

        Exact search in the memory-mapped mirror when it is up to date (no Chroma import, a few ms);
        otherwise, and always in server mode, Chroma's HNSW index.
        """
        mirror = self.mirror()
        self.last_stats = None
        if mirror is not None:
            found = mirror.query(vector, k, doc_ids, hub_weight)
            self.last_stats = mirror.last_stats
            return found
        where = None
        if doc_ids is not None:
            if not doc_ids:
                return []
            where = {"doc_id": {"$in": list(doc_ids)}}
        n = self.count()
        if n == 0:
            return []
        with self._guard():
            res = self.collection.query(
                query_embeddings=[np.asarray(vector, dtype=np.float32)],
                n_results=min(k, n),
                where=where,
                include=["distances"],
            )
        return [(cid, 1.0 - float(d)) for cid, d in zip(res["ids"][0], res["distances"][0])]


def normalize_chroma_url(url: str) -> str:
    """`host:port` or `http(s)://host[:port]` → `http(s)://host:port`, or a clear error."""
    from urllib.parse import urlparse

    raw = url.strip().rstrip("/")
    if "://" not in raw:
        raw = "http://" + raw
    u = urlparse(raw)
    try:
        port = u.port
    except ValueError:
        port = -1
    if u.scheme not in ("http", "https") or not u.hostname or port == -1 or u.path not in ("", "/"):
        raise AssistantError(f"{url}: not a Chroma server URL; expected http://host:port (e.g. http://127.0.0.1:8000)")
    return f"{u.scheme}://{u.netloc}"


def check_chroma_server(url: str, timeout: float = 5.0) -> None:
    """Raise a one-line error unless the Chroma server at `url` answers its heartbeat."""
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=timeout) as resp:
            body = resp.read(2000)
        if b"heartbeat" not in body:
            raise AssistantError(f"{url}: this is not a Chroma server (no heartbeat at /api/v2/heartbeat)")
    except urllib.error.HTTPError as exc:
        raise AssistantError(f"{url}: not a Chroma server, or an incompatible version (HTTP {exc.code} at /api/v2/heartbeat)") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise _server_error(url, exc) from None


def _server_error(url: str, exc: BaseException) -> AssistantError:
    reason = getattr(exc, "reason", None) or exc
    detail = f" ({str(reason).splitlines()[0]})" if str(reason) else ""
    return AssistantError(
        f"cannot reach the Chroma server at {url}{detail}; start it with `chroma run --path DIR --host HOST "
        f"--port PORT`, or drop --chroma-url / ASSISTANT_CHROMA_URL to use the local index"
    )


def _is_connection_error(exc: BaseException) -> bool:
    try:
        import httpx

        if isinstance(exc, httpx.TransportError):
            return True
    except ImportError:  # pragma: no cover
        pass
    return isinstance(exc, ConnectionError | TimeoutError) or "Could not connect to a Chroma server" in str(exc)


def _set_http_timeouts(client) -> None:
    """Chroma's HTTP client waits forever by default; a dead server must fail in seconds."""
    try:
        import httpx

        client._server._session.timeout = httpx.Timeout(300.0, connect=10.0)  # noqa: SLF001
    except Exception:  # pragma: no cover - private attribute of another version
        pass


def _chroma_embedding_function(factory):
    """A Chroma EmbeddingFunction backed by our embedder (built lazily, never Chroma's default)."""
    from chromadb.api.types import EmbeddingFunction
    from chromadb.utils.embedding_functions import register_embedding_function

    class PolicyAssistantEmbedding(EmbeddingFunction):
        def __init__(self, make=factory) -> None:
            self._make = make

        def __call__(self, input):  # noqa: A002 - Chroma's parameter name
            return list(self._make().embed_passages(list(input)))

        def embed_query(self, input):  # noqa: A002
            emb = self._make()
            return [emb.embed_query(t) for t in input]

        @staticmethod
        def name() -> str:
            return "policy-assistant"

        def get_config(self) -> dict:
            return {}

        @staticmethod
        def build_from_config(config: dict) -> PolicyAssistantEmbedding:
            from .embedding import get_embedder

            return PolicyAssistantEmbedding(lambda: get_embedder(config.get("model", "multilingual-e5-small")))

        def default_space(self) -> str:
            return "cosine"

        def supported_spaces(self) -> list[str]:
            return ["cosine", "l2", "ip"]

    try:
        register_embedding_function(PolicyAssistantEmbedding)
    except Exception:
        pass
    return PolicyAssistantEmbedding()


class KeywordIndex:
    """BM25 over chunk terms, saved beside the manifest and tagged with its generation.

    Built at ingest with numpy (bm25s's Lucene BM25) and saved as precomputed scores in CSC arrays, in
    bm25s's layout; queries read those arrays with numpy alone.
    """

    def __init__(
        self, ids: list[str], vocab: dict[str, int], csc: tuple[np.ndarray, np.ndarray, np.ndarray] | None,
        generation: int, terms: tuple[np.ndarray, np.ndarray] | None = None,
    ) -> None:
        self.ids = ids
        self.vocab = vocab
        self.csc = csc  # (data, indices, indptr): column t holds the BM25 score of term t in each chunk
        self.terms = terms  # (term ids of every chunk end to end, terms per chunk): what update() starts from
        self._positions: dict[str, int] | None = None
        self._last: tuple[tuple[str, ...], np.ndarray | None] | None = None  # the last query's scores
        self.generation = generation

    @classmethod
    def build(cls, rows: Iterable[tuple[str, list[str]]], generation: int) -> KeywordIndex:
        """Index chunk terms with BM25 (bm25s's default: Lucene idf, k1 1.2, b 0.75; equal scores, tested).

        Built with numpy from one flat array of term ids, so memory stays a few bytes per term (bm25s
        itself holds every term as a Python string and list: about 1.6 GB at 100k chunks) and a re-index
        after a small change stays fast.
        """
        ids: list[str] = []
        vocab: defaultdict[str, int] = defaultdict()
        vocab.default_factory = vocab.__len__  # a new term gets the next id
        flat = array("i")
        lengths = array("i")
        for cid, terms in rows:
            ids.append(cid)
            flat.extend(map(vocab.__getitem__, terms))
            lengths.append(len(terms))
        return cls._from_terms(ids, dict(vocab), _int32(flat), _int32(lengths), generation)

    @classmethod
    def update(cls, old: KeywordIndex, ids: list[str], fresh: dict[str, list[str]], generation: int) -> KeywordIndex:
        """The index after a change: `ids` in order, terms from `old` except the `fresh` chunks' (new or re-read).

        Equal to a full build (same vocabulary, same scores) without reading every chunk's terms again.
        """
        assert old.terms is not None
        flat_old, len_old = old.terms
        off_old = np.zeros(len(len_old) + 1, dtype=np.int64)
        np.cumsum(len_old, out=off_old[1:])
        pos = {cid: i for i, cid in enumerate(old.ids)}
        vocab = dict(old.vocab)
        extra = array("i")
        start = np.empty(len(ids), dtype=np.int64)  # where each chunk's terms start in old terms + extra
        lens = np.empty(len(ids), dtype=np.int64)
        for i, cid in enumerate(ids):
            terms = fresh.get(cid)
            if terms is None:
                r = pos[cid]
                start[i], lens[i] = off_old[r], len_old[r]
            else:
                start[i], lens[i] = len(flat_old) + len(extra), len(terms)
                extra.extend(vocab.setdefault(t, len(vocab)) for t in terms)
        source = np.concatenate([np.asarray(flat_old, dtype=np.int32), _int32(extra)])
        flat = source[np.repeat(start - (np.cumsum(lens) - lens), lens) + np.arange(int(lens.sum()))]
        used = np.bincount(flat, minlength=len(vocab)) > 0
        if not used.all():  # terms no chunk holds any more leave the vocabulary, as in a full build
            new_id = np.cumsum(used) - 1
            flat = new_id[flat].astype(np.int32)
            vocab = {t: int(new_id[i]) for t, i in vocab.items() if used[i]}
        return cls._from_terms(ids, vocab, flat, lens.astype(np.int32), generation)

    @classmethod
    def _from_terms(
        cls, ids: list[str], vocab: dict[str, int], flat: np.ndarray, lengths: np.ndarray, generation: int
    ) -> KeywordIndex:
        """BM25 scores from every chunk's term ids laid end to end (`lengths` terms per chunk)."""
        if not ids:
            return cls(ids, {}, None, generation)
        n = len(ids)
        lens = lengths.astype(np.float64)
        doc = np.repeat(np.arange(n, dtype=np.int64), lengths.astype(np.int64))
        # (term, chunk) pairs sorted term-major: each term's column in CSC order, with its term frequency
        pair, tf = np.unique(flat.astype(np.int64) * n + doc, return_counts=True)
        term, chunk = pair // n, pair % n
        df = np.bincount(term, minlength=len(vocab))
        idf = np.log(1 + (n - df + 0.5) / (df + 0.5))
        norm = BM25_K1 * (1 - BM25_B + BM25_B * lens[chunk] / max(lens.mean(), 1e-9))
        data = (idf[term] * (tf / (norm + tf))).astype(np.float32)
        indptr = np.concatenate([[0], np.cumsum(df)]).astype(np.int64)
        return cls(ids, vocab, (data, chunk.astype(np.int32), indptr), generation, (flat, lengths))

    def save(self, directory: Path) -> None:
        """Write the index next to the manifest, replacing the old one in one rename."""
        tmp = directory.with_name(directory.name + f".tmp-{os.getpid()}")
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        if self.ids:  # the score matrix in the files and layout bm25s uses
            for name, arr in zip(("data", "indices", "indptr"), self.csc):
                np.save(tmp / f"{name}.csc.index.npy", arr)
            if self.terms is not None:
                np.save(tmp / "terms.npy", self.terms[0])
                np.save(tmp / "lengths.npy", self.terms[1])
            (tmp / "vocab.index.json").write_text(json.dumps(self.vocab, ensure_ascii=False))
        (tmp / "ids.json").write_text(json.dumps({"generation": self.generation, "ids": self.ids}))
        _swap_dir(tmp, directory)

    @staticmethod
    def saved_generation(directory: Path) -> int | None:
        """The manifest generation the saved index was built for, or None when there is none."""
        try:
            return int(json.loads((directory / "ids.json").read_text())["generation"])
        except (OSError, ValueError, KeyError, TypeError):
            return None

    @classmethod
    def load(cls, directory: Path, with_terms: bool = False) -> KeywordIndex | None:
        """The saved index, or None when it is missing or unreadable (numpy only, no bm25s).

        with_terms also reads the chunks' term ids for update() (None there when an older index lacks them).
        """
        try:
            meta = json.loads((directory / "ids.json").read_text())
            ids = meta["ids"]
            if not ids:
                return cls([], {}, None, int(meta["generation"]))
            vocab = json.loads((directory / "vocab.index.json").read_text(encoding="utf-8"))
            csc = tuple(np.load(directory / f"{n}.csc.index.npy", mmap_mode="r") for n in ("data", "indices", "indptr"))
            terms = None
            if with_terms and (directory / "terms.npy").exists():
                terms = (np.load(directory / "terms.npy", mmap_mode="r"), np.load(directory / "lengths.npy"))
                if len(terms[1]) != len(ids) or len(terms[0]) != int(terms[1].sum()):
                    terms = None
            return cls(ids, vocab, csc, int(meta["generation"]), terms)  # type: ignore[arg-type]
        except (OSError, ValueError, KeyError):
            return None

    def scores(self, terms: list[str]) -> np.ndarray | None:
        """BM25 score of every chunk for the query terms (a repeated term counts again), or None."""
        key = tuple(terms)
        if self._last is None or self._last[0] != key:  # search and fusion both ask for the same query
            self._last = (key, self._score(terms))
        return self._last[1]

    def scores_of(self, terms: list[str], ids: Sequence[str]) -> dict[str, float]:
        """BM25 scores of the given chunks (the ones the index holds) for the query terms."""
        scores = self.scores(terms) if terms else None
        if scores is None:
            return {}
        if self._positions is None:
            self._positions = {cid: i for i, cid in enumerate(self.ids)}
        return {c: float(scores[self._positions[c]]) for c in ids if c in self._positions}

    def idf(self, term: str) -> float:
        """BM25's inverse document frequency of a term over the chunks; a term the index lacks gets the rarest's."""
        n = len(self.ids)
        t = self.vocab.get(term)
        df = 0
        if t is not None and self.csc is not None and t < len(self.csc[2]) - 1:
            df = int(self.csc[2][t + 1] - self.csc[2][t])
        return float(np.log(1.0 + (n - max(df, 1) + 0.5) / (max(df, 1) + 0.5)))

    def _score(self, terms: list[str]) -> np.ndarray | None:
        if self.csc is None:
            return None
        data, indices, indptr = self.csc
        tids = [self.vocab[t] for t in terms if t in self.vocab and self.vocab[t] < len(indptr) - 1]
        if not tids:
            return None
        out = np.zeros(len(self.ids), dtype=np.float32)
        for t in tids:
            a, b = int(indptr[t]), int(indptr[t + 1])
            if b > a:
                out[indices[a:b]] += data[a:b]  # one term's column: each chunk index appears once
        return out

    def search(self, terms: list[str], k: int, allowed: set[str] | None = None) -> list[tuple[str, float]]:
        """The k best chunk ids by BM25 score (only positive scores)."""
        if not self.ids or not terms:
            return []
        scores = self.scores(terms)
        if scores is None:
            return []
        if allowed is not None:
            mask = np.fromiter((cid in allowed for cid in self.ids), dtype=bool, count=len(self.ids))
            scores = np.where(mask, scores, 0.0)
        return _top_k(self.ids, scores, k, positive=True)


def _int32(values: array) -> np.ndarray:
    """An array('i') as numpy int32 (empty ones too)."""
    return np.frombuffer(values, dtype=np.int32) if len(values) else np.zeros(0, dtype=np.int32)


def _top_k(ids: Sequence[str], scores: np.ndarray, k: int, positive: bool = False) -> list[tuple[str, float]]:
    """The k highest scores with their ids, best first (ties in index order)."""
    k = min(k, len(scores))
    if k <= 0:
        return []
    top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    top = top[np.lexsort((top, -scores[top]))]
    return [(ids[i], float(scores[i])) for i in top if not positive or scores[i] > 0]


def _swap_dir(tmp: Path, directory: Path) -> None:
    """Put a freshly written folder in place of the old one (readers see the old or the new one)."""
    old = directory.with_name(directory.name + f".old-{os.getpid()}")
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)
    if directory.exists():
        directory.rename(old)
    tmp.rename(directory)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


HUB_NEIGHBOURS = 10  # a chunk's hubness: its mean cosine similarity to this many nearest other chunks
HUB_MIN_CHUNKS = 10 * HUB_NEIGHBOURS  # below this the neighbours are a tenth of the index or more: no hubness
HUB_DRIFT = 0.1  # rows added or removed since the last full computation, as a share of all, before it is redone


def hubness(vectors: np.ndarray, rows: Sequence[int] | None = None, block: int = 128) -> np.ndarray:
    """Each row's (or the given rows') mean cosine similarity to its HUB_NEIGHBOURS nearest other rows.

    A chunk near many others (boilerplate, a generic overview) is a "hub" that dense search ranks high
    for many questions it does not answer. All zeros for an index under HUB_MIN_CHUNKS chunks.
    """
    n, k = len(vectors), HUB_NEIGHBOURS
    rows = np.arange(n) if rows is None else np.asarray(rows, dtype=np.int64)
    out = np.zeros(len(rows), dtype=np.float32)
    if n < HUB_MIN_CHUNKS:
        return out
    for a in range(0, len(rows), block):  # 128 rows at a time: 56 MB of similarities at 109k chunks
        r = rows[a : a + block]
        sims = np.asarray(vectors[r], dtype=np.float32) @ np.asarray(vectors, dtype=np.float32).T
        sims[np.arange(len(r)), r] = -np.inf  # not its own neighbour
        out[a : a + len(r)] = np.partition(sims, n - k, axis=1)[:, n - k :].mean(axis=1)
    return out


def _updated_hubness(vectors: np.ndarray, old: DenseMirror | None, reused: list[int], old_rows: list[int]) -> tuple[np.ndarray, int]:
    """The hubness of every row and the drift since it was last computed for all rows.

    Reused rows keep their old value and only new rows are computed, until the rows added or removed
    since the last full computation pass HUB_DRIFT of the index (then every row is computed again).
    """
    n = len(vectors)
    if old is not None and old.hub_drift is not None and min(len(old.ids), n) >= HUB_MIN_CHUNKS:
        new = np.setdiff1d(np.arange(n), reused)
        drift = old.hub_drift + len(new) + (len(old.ids) - len(reused))
        if drift <= HUB_DRIFT * n:
            hub = np.zeros(n, dtype=np.float32)
            hub[reused] = old.hub[old_rows]
            hub[new] = hubness(vectors, new)
            return hub, drift
    return hubness(vectors), 0


class DenseMirror:
    """An exact-search copy of the Chroma vectors (float32, memory-mapped), tagged with the generation.

    Written by Index.refresh_derived() after every committed change; used for queries only when its
    generation and model match the manifest, so a stale mirror is never read (Chroma answers instead).
    """

    def __init__(
        self, directory: Path, meta: dict, vectors: np.ndarray, doc_of_row: np.ndarray, hub: np.ndarray | None = None
    ) -> None:
        self.dir = directory
        self.generation = int(meta["generation"])
        self.model = meta["model"]
        self.dim = int(meta["dim"])
        self.ids: list[str] = meta["ids"]
        self.docs: list[str] = meta["docs"]
        self.vectors = vectors
        self.doc_of_row = doc_of_row
        self.hub = hub if hub is not None else np.zeros(len(self.ids), dtype=np.float32)
        self.last_stats: tuple[float, float] | None = None  # set by query: mean and spread of its cosines
        self.hub_drift: int | None = meta.get("hub_drift") if hub is not None else None  # None: no hubness saved
        self._row: dict[str, int] | None = None
        self._doc_no: dict[str, int] | None = None

    @property
    def row_of(self) -> dict[str, int]:
        """Chunk id → row."""
        if self._row is None:
            self._row = {cid: i for i, cid in enumerate(self.ids)}
        return self._row

    @classmethod
    def load(cls, directory: Path) -> DenseMirror | None:
        """The saved mirror, or None when it is missing or unreadable."""
        try:
            meta = json.loads((directory / "meta.json").read_text(encoding="utf-8"))
            vectors = np.load(directory / "vectors.npy", mmap_mode="r")
            doc_of_row = np.load(directory / "doc_of_row.npy")
            hub = np.load(directory / "hub.npy") if (directory / "hub.npy").exists() else None
            if vectors.shape != (len(meta["ids"]), int(meta["dim"])) or len(doc_of_row) != len(meta["ids"]):
                return None
            if hub is not None and hub.shape != (len(meta["ids"]),):
                hub = None
            return cls(directory, meta, vectors, doc_of_row, hub)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    @staticmethod
    def write(
        directory: Path, generation: int, model: str, ids: list[str], doc_ids: list[str], vectors: np.ndarray,
        hub: np.ndarray, hub_drift: int = 0,
    ) -> None:
        """Save a mirror (to a temporary folder, then one rename)."""
        tmp = directory.with_name(directory.name + f".tmp-{os.getpid()}")
        if tmp.exists():
            shutil.rmtree(tmp)
        tmp.mkdir(parents=True)
        docs = list(dict.fromkeys(doc_ids))
        doc_no = {d: i for i, d in enumerate(docs)}
        np.save(tmp / "vectors.npy", np.ascontiguousarray(vectors, dtype=np.float32))
        np.save(tmp / "doc_of_row.npy", np.fromiter((doc_no[d] for d in doc_ids), dtype=np.int32, count=len(doc_ids)))
        np.save(tmp / "hub.npy", np.asarray(hub, dtype=np.float32))
        meta = {"generation": generation, "model": model, "dim": int(vectors.shape[1]), "ids": ids, "docs": docs,
                "hub_drift": hub_drift}
        (tmp / "meta.json").write_text(json.dumps(meta), encoding="utf-8")
        _swap_dir(tmp, directory)

    def query(
        self, vector: np.ndarray, k: int, doc_ids: Sequence[str] | None = None, hub_weight: float = 0.0
    ) -> list[tuple[str, float]]:
        """The k nearest chunks by cosine similarity (exact), optionally within some documents.

        With hub_weight, they are ranked by similarity minus hub_weight times each chunk's hubness
        (its similarity is still what is returned).
        """
        if not self.ids:
            return []
        cos = self.vectors @ np.asarray(vector, dtype=np.float32)
        self.last_stats = (float(cos.mean()), float(cos.std()))  # how the whole index sits to this query
        scores = cos - np.float32(hub_weight) * self.hub if hub_weight else cos
        if doc_ids is not None:
            if self._doc_no is None:
                self._doc_no = {d: i for i, d in enumerate(self.docs)}
            wanted = np.fromiter((self._doc_no[d] for d in doc_ids if d in self._doc_no), dtype=np.int32)
            if not len(wanted):
                return []
            mask = np.isin(self.doc_of_row, wanted)
            rows = np.flatnonzero(mask)
            top = [rows[j] for j, _ in _top_k(range(len(rows)), scores[rows], k)]
        else:
            top = [i for i, _ in _top_k(range(len(scores)), scores, k)]
        return [(self.ids[i], float(cos[i])) for i in top]

    def get(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        """Vectors for the ids the mirror holds."""
        rows = self.row_of
        return {cid: np.array(self.vectors[rows[cid]]) for cid in ids if cid in rows}

    def hub_of(self, ids: Sequence[str]) -> np.ndarray:
        """The hubness of these chunks (0 for ids the mirror lacks)."""
        rows = self.row_of
        return np.array([self.hub[rows[c]] if c in rows else 0.0 for c in ids], dtype=np.float32)


class Index:
    """The whole index folder: manifest, vectors and keyword index, opened for reading or writing."""

    def __init__(self, index_dir: Path, chroma_url: str | None = None, create: bool = False) -> None:
        self.dir = Path(index_dir)
        if create and chroma_url:
            check_chroma_server(normalize_chroma_url(chroma_url))  # a writer fails at once, not halfway through
        if self.dir.exists() and not self.dir.is_dir():
            raise AssistantError(f"{self.dir}: is a file, not an index folder", exit_code=EXIT_USAGE)
        if create:
            self.dir.mkdir(parents=True, exist_ok=True)
        elif not (self.dir / MANIFEST).exists():
            raise IndexMissingError(
                f"{self.dir}: no index here; run `assistant ingest` first (or set --index / ASSISTANT_INDEX)"
            )
        self.manifest = Manifest(self.dir / MANIFEST, create=create)
        if create:
            # A random id per index, kept forever: names this index's collection on a shared Chroma server.
            self.manifest.db.execute(
                "INSERT OR IGNORE INTO meta(key, value) VALUES ('index_id', ?)", (uuid.uuid4().hex[:16],)
            )
        self.vectors = VectorStore(self.dir, chroma_url, self.collection_name(chroma_url))
        self.vectors.mirror = self.dense_mirror
        self._keyword: KeywordIndex | None = None
        self._mirror: DenseMirror | None = None
        self._mirror_read_at: tuple | None = None  # (generation, file identity) the saved mirror was last read at

    def collection_name(self, chroma_url: str | None) -> str:
        """`chunks` in the local chroma/ folder; `policy-assistant-<index id>` on a (shared) server."""
        index_id = self.manifest.get_meta("index_id")
        if not chroma_url or not index_id:
            return COLLECTION
        return f"policy-assistant-{index_id}"

    @property
    def vector_location(self) -> str:
        """Where this process keeps vectors: 'server' (Chroma by URL) or 'local' (chroma/ folder)."""
        return "server" if self.vectors.url else "local"

    def close(self) -> None:
        """Release the manifest connection."""
        self.manifest.close()

    @property
    def model(self) -> str | None:
        """The embedding model the index was built with."""
        return self.manifest.get_meta("model")

    def check_model(self, name: str, dim: int | None = None) -> None:
        """Refuse to mix vectors of two models."""
        built = self.model
        stored = self.manifest.get_meta("vectors")
        if built is not None and stored and stored != self.vector_location:
            where = "on a Chroma server" if stored == "server" else "in the local chroma/ folder"
            fix = "set --chroma-url / ASSISTANT_CHROMA_URL" if stored == "server" else "drop --chroma-url / ASSISTANT_CHROMA_URL"
            raise ModelMismatchError(
                f"{self.dir}: this index keeps its vectors {where}; {fix}, or move it with `assistant ingest --full`"
            )
        if built is None or built == name:
            if dim is not None and self.manifest.get_meta("dim") not in (None, str(dim)):
                raise ModelMismatchError(f"{self.dir}: index dimension {self.manifest.get_meta('dim')} ≠ model dimension {dim}")
            return
        raise ModelMismatchError(
            f"{self.dir}: the index was built with '{built}', but the configured model is '{name}'. "
            f"Rebuild it with `assistant ingest --full`, or set ASSISTANT_EMBED_MODEL={built}"
        )

    def require_documents(self) -> None:
        """Raise a clear error when the index holds nothing to search."""
        if self.manifest.counts()[0] == 0:
            raise IndexMissingError(f"{self.dir}: the index is empty; run `assistant ingest PATH` first")

    @property
    def keyword(self) -> KeywordIndex:
        """The keyword index in step with the manifest (rebuilt in memory if the saved one lags)."""
        gen = self.manifest.generation
        if self._keyword is None or self._keyword.generation != gen:
            kw = KeywordIndex.load(self.dir / KEYWORD_DIR)
            if kw is None or kw.generation != gen:
                kw = KeywordIndex.build(self.manifest.chunk_terms(), gen)
            self._keyword = kw
        return self._keyword

    def dense_mirror(self) -> DenseMirror | None:
        """The exact-search mirror of the vectors if it matches the manifest's generation and model (local mode)."""
        if self.vectors.url:
            return None
        gen = self.manifest.generation
        m = self._mirror
        if m is None or m.generation != gen:  # a stale mirror is read again only when its files change
            try:
                st = os.stat(self.dir / DENSE_DIR / "meta.json")
                seen: tuple = (gen, st.st_ino, st.st_mtime_ns)
            except OSError:
                seen = (gen, None, None)
            if seen != self._mirror_read_at:
                m = DenseMirror.load(self.dir / DENSE_DIR)
                self._mirror, self._mirror_read_at = m, seen
        if m is None or m.generation != gen or m.model != self.model:
            return None
        return m

    def refresh_derived(self, changed_docs: set[str] | None = None, since: int | None = None) -> None:
        """Rebuild the files derived from the manifest after every committed change.

        When the saved keyword index was built for generation `since` and only `changed_docs` were
        written since (besides removals), it is updated from its saved terms; otherwise rebuilt from
        every chunk's. The dense mirror first, the keyword index last: a run killed in between leaves
        the keyword index lagging, which the next ingest notices and repairs (both files are rebuilt).
        """
        if self.manifest.get_meta("vectors") != self.vector_location:
            self.manifest.set_meta("vectors", self.vector_location)
        gen = self.manifest.generation
        order = self.manifest.chunk_order()
        ids = [c for c, _ in order]
        old = None
        if changed_docs is not None and since is not None:
            old = KeywordIndex.load(self.dir / KEYWORD_DIR, with_terms=True)
        fresh: list[str] | None = None
        if old is not None and old.generation == since and old.terms is not None:
            known = set(old.ids)
            fresh = [c for c, d in order if d in changed_docs or c not in known]
        if fresh is not None and len(fresh) <= max(len(ids) // 2, 20_000):  # else stream all terms (memory)
            kw = KeywordIndex.update(old, ids, dict(self.manifest.terms_of(fresh)), gen)
        else:
            kw = KeywordIndex.build(self.manifest.chunk_terms(), gen)
        del old
        self._refresh_mirror(ids, [d for _, d in order], gen)
        kw.save(self.dir / KEYWORD_DIR)
        self._keyword = kw

    def _refresh_mirror(self, ids: list[str], doc_ids: list[str], generation: int) -> None:
        """Write the dense mirror for these chunk ids: rows of the previous mirror are reused, new ones read from Chroma."""
        directory = self.dir / DENSE_DIR
        model = self.model
        if self.vectors.url or model is None:
            if directory.exists():
                shutil.rmtree(directory, ignore_errors=True)  # server mode: Chroma answers every query
            self._mirror = self._mirror_read_at = None
            return
        dim = int(self.manifest.get_meta("dim") or 0)
        vectors = np.zeros((len(ids), dim), dtype=np.float32)
        old = DenseMirror.load(directory)
        missing = list(range(len(ids)))
        dst: list[int] = []
        src: list[int] = []
        if old is not None and old.model == model and old.dim == dim:
            rows = old.row_of
            dst = [i for i, cid in enumerate(ids) if cid in rows]
            src = [rows[ids[i]] for i in dst]
            if dst:
                vectors[dst] = old.vectors[src]
            have = set(dst)
            missing = [i for i in range(len(ids)) if i not in have]
        else:
            old = None  # another model or dimension: nothing of it is reused
        if missing:
            got = self.vectors.get_vectors_from_chroma([ids[i] for i in missing])
            if len(got) < len(missing) or any(len(v) != dim for v in got.values()):
                self._mirror = self._mirror_read_at = None
                return  # Chroma lacks vectors the manifest names: leave the mirror stale (never used)
            for i in missing:
                vectors[i] = got[ids[i]]
        hub, drift = _updated_hubness(vectors, old, dst, src)
        del old
        DenseMirror.write(directory, generation, model, ids, doc_ids, vectors, hub, drift)
        self._mirror = self._mirror_read_at = None

    @contextmanager
    def writer_lock(self) -> Iterator[None]:
        """Hold the single-writer lock, or fail at once with a clear message."""
        import fcntl

        path = self.dir / LOCK_FILE
        fh = open(path, "a+")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            holder = fh.read().strip()
            fh.close()
            raise IndexLockedError(
                f"{self.dir}: another ingest is writing this index{f' (pid {holder})' if holder else ''}; try again when it ends"
            ) from None
        try:
            fh.seek(0)
            fh.truncate()
            fh.write(str(os.getpid()))
            fh.flush()
            yield
        finally:
            fh.seek(0)
            fh.truncate()
            fcntl.flock(fh, fcntl.LOCK_UN)
            fh.close()

    def status(self) -> dict:
        """A summary of what the index holds."""
        docs = self.manifest.documents()
        langs: dict[str, int] = {}
        types: dict[str, int] = {}
        for d in docs:
            langs[d.language] = langs.get(d.language, 0) + 1
            types[d.type or "unknown"] = types.get(d.type or "unknown", 0) + 1
        n_docs, n_chunks = self.manifest.counts()
        return {
            "path": str(self.dir),
            "documents": n_docs,
            "chunks": n_chunks,
            "languages": langs,
            "types": types,
            "ocr_documents": sum(d.ocr for d in docs),  # documents with pages read by OCR (scans)
            "model": self.model,
            "dim": int(self.manifest.get_meta("dim") or 0) or None,
            "chroma": self.vectors.url or str(self.dir / CHROMA_DIR),
            "collection": self.vectors.collection_name,
            "vectors": self.manifest.get_meta("vectors") or self.vector_location,
            "last_ingest": self.manifest.get_meta("last_ingest"),
            "generation": self.manifest.generation,
            # the analyzer version that wrote the keyword terms (1 before it was recorded); an older one is
            # re-analysed by the next ingest
            "analyzer": self.manifest.get_meta("analyzer") or ("1" if n_chunks else ANALYZER_VERSION),
            "analyzer_current": ANALYZER_VERSION,
        }


def now_iso() -> str:
    """The current UTC time as ISO 8601."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
