"""The SQLite manifest: which documents and chunks the index holds (the truth of a local index)."""

from __future__ import annotations

import datetime
import json
import re
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from ..errors import IndexMissingError

MANIFEST = "manifest.sqlite"
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

    def put_document(self, doc: DocumentRecord, chunks: Sequence[ChunkRecord], text_hash: str, minhash: bytes) -> None:
        """Insert a committed document with its chunks and fingerprint, replacing one with its id or path (inside a transaction)."""
        self.db.execute("DELETE FROM documents WHERE doc_id=? OR path=?", (doc.doc_id, doc.path))
        self.db.execute("DELETE FROM aliases WHERE path=?", (doc.path,))
        self.db.execute(  # the columns by name: a newer schema's extra columns keep their defaults
            "INSERT INTO documents(doc_id, path, source, content_hash, title, type, language, date, publisher, text, "
            "page_starts, n_chunks, size, mtime, ingested_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                doc.doc_id, doc.path, doc.source, doc.content_hash, doc.title, doc.type, doc.language,
                doc.date, doc.publisher, doc.text, json.dumps(doc.page_starts) if doc.page_starts else None,
                doc.n_chunks, doc.size, doc.mtime, doc.ingested_at,
            ),
        )
        self.db.executemany(
            f"INSERT INTO chunks({self._CHUNK_COLS}) VALUES (?,?,?,?,?,?,?,?,?)",
            [(c.id, doc.doc_id, c.seq, c.page, c.page_end, c.start, c.end, c.text, c.terms) for c in chunks],
        )
        self.db.execute("INSERT OR REPLACE INTO fingerprints VALUES (?,?,?)", (doc.doc_id, text_hash, minhash))

    def remove_near_duplicate(self, a: str, b: str) -> None:
        """Forget a near-duplicate pair (inside a transaction)."""
        a, b = sorted((a, b))
        self.db.execute("DELETE FROM near_duplicates WHERE a=? AND b=?", (a, b))

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
