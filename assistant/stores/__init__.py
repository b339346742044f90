"""The index: a SQLite manifest (truth), Chroma vectors, a BM25 keyword index and a dense mirror.

One module per store: manifest.py, vectors.py (Chroma), keyword.py, dense.py; index.py composes them
into an index folder; server.py is the team server protocol (the server as store of record). `from assistant.stores import X` keeps working for every name below.
"""

from __future__ import annotations

from .dense import DENSE_DIR, HUB_DRIFT, HUB_MIN_CHUNKS, HUB_NEIGHBOURS, DenseMirror, hubness
from .index import LOCK_FILE, Index, now_iso
from .keyword import BM25_B, BM25_K1, KEYWORD_DIR, KeywordIndex
from .manifest import MANIFEST, SCHEMA_VERSION, ChunkRecord, DocumentRecord, Manifest, date_key, end_key, is_date
from .server import DEFAULT_COLLECTION, TeamServer, cache_dir, open_index
from .vectors import CHROMA_DIR, COLLECTION, VectorStore, check_chroma_server, normalize_chroma_url

__all__ = [
    "BM25_B", "DEFAULT_COLLECTION", "TeamServer", "cache_dir", "open_index", "BM25_K1", "CHROMA_DIR", "COLLECTION", "DENSE_DIR", "HUB_DRIFT", "HUB_MIN_CHUNKS", "HUB_NEIGHBOURS",
    "KEYWORD_DIR", "LOCK_FILE", "MANIFEST", "SCHEMA_VERSION", "ChunkRecord", "DenseMirror", "DocumentRecord", "Index",
    "KeywordIndex", "Manifest", "VectorStore", "check_chroma_server", "date_key", "end_key", "hubness", "is_date",
    "normalize_chroma_url", "now_iso",
]
