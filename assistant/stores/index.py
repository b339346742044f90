"""The whole index folder: manifest, vectors, keyword index and dense mirror, composed."""

from __future__ import annotations

import os
import shutil
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..errors import EXIT_USAGE, AssistantError, IndexLockedError, IndexMissingError, ModelMismatchError
from ..language import ANALYZER_VERSION
from .dense import DENSE_DIR, DenseMirror
from .keyword import KEYWORD_DIR, KeywordIndex
from .manifest import MANIFEST, Manifest
from .server import TEAM_VECTORS, TeamServer
from .vectors import CHROMA_DIR, COLLECTION, VectorStore, check_chroma_server, normalize_chroma_url

LOCK_FILE = "ingest.lock"


class Index:
    """The whole index folder: manifest, vectors and keyword index, opened for reading or writing."""

    def __init__(
        self, index_dir: Path, chroma_url: str | None = None, create: bool = False, team: TeamServer | None = None
    ) -> None:
        self.dir = Path(index_dir)
        self.team = team  # a team server's cache: the server is the store of record (stores/server.py)
        self._locked = False
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
        if self.team is not None:
            return self.team.chunks_collection
        index_id = self.manifest.get_meta("index_id")
        if not chroma_url or not index_id:
            return COLLECTION
        return f"policy-assistant-{index_id}"

    @property
    def vector_location(self) -> str:
        """Where this process keeps vectors: 'server' (Chroma by URL), 'team' (a team server's cache) or 'local'."""
        if self.team is not None:
            return TEAM_VECTORS
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
            if stored == TEAM_VECTORS or self.team is not None:
                raise ModelMismatchError(
                    f"{self.dir}: a team server's cache is read through the server: use --chroma-url without --index"
                    if stored == TEAM_VECTORS else
                    f"{self.dir}: this is a local index folder; a team index is used with --chroma-url and no --index"
                )
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
        if self.vectors.url and self.team is None:
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
        if (self.vectors.url and self.team is None) or model is None:
            if directory.exists():
                shutil.rmtree(directory, ignore_errors=True)  # server mode: Chroma answers every query
            self._mirror = self._mirror_read_at = None
            return
        dim = int(self.manifest.get_meta("dim") or 0)
        vectors = np.zeros((len(ids), dim), dtype=np.float32)
        old = DenseMirror.load(directory)
        missing: list[int] | np.ndarray = list(range(len(ids)))
        dst = src = np.zeros(0, dtype=np.int64)
        if old is not None and old.model == model and old.dim == dim:
            if old.ids == ids:  # nothing added, removed or moved: every row as it was
                dst = src = np.arange(len(ids))
                vectors[:] = old.vectors
            else:
                rows = old.row_of
                where = np.fromiter((rows.get(cid, -1) for cid in ids), dtype=np.int64, count=len(ids))
                dst = np.flatnonzero(where >= 0)
                src = where[dst]
                if len(dst):
                    vectors[dst] = old.vectors[src]
            missing = np.setdiff1d(np.arange(len(ids)), dst, assume_unique=True)
        else:
            old = None  # another model or dimension: nothing of it is reused
        if len(missing):
            got = self.vectors.get_vectors_from_chroma([ids[i] for i in missing])
            if len(got) < len(missing) or any(len(v) != dim for v in got.values()):
                self._mirror = self._mirror_read_at = None
                return  # Chroma lacks vectors the manifest names: leave the mirror stale (never used)
            for i in missing:
                vectors[i] = got[ids[i]]
        DenseMirror.build(directory, generation, model, ids, doc_ids, vectors, old, dst, src)
        del old
        self._mirror = self._mirror_read_at = None

    def catch_up(self) -> dict | None:
        """A team cache: bring it up to the server's head (one small request when nothing moved); local: nothing.

        Commands catch up when they open the index; a long session (chat) may call this before each question.
        """
        return self.team.sync(self) if self.team is not None else None

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """One atomic change of the index; for a team cache, also the server's next generation (committed first)."""
        if self.team is None:
            with self.manifest.transaction():
                yield
            return
        with self.manifest.transaction():
            before = self.team.snapshot(self.manifest)
            yield
            self.team.publish(self, before)
        self.team.after_commit()

    @contextmanager
    def writer_lock(self, wait: float = 0.0) -> Iterator[None]:
        """Hold the single-writer lock (waiting up to `wait` seconds), or fail with a clear message."""
        import fcntl

        if self._locked:  # this process holds it already (a writer's catch-up)
            yield
            return
        path = self.dir / LOCK_FILE
        fh = open(path, "a+")
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() < deadline:
                    time.sleep(0.2)
                    continue
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
            self._locked = True
            yield
        finally:
            self._locked = False
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
            **({"vectors": "server", "chroma": self.team.url, **self.team.status(self)} if self.team else {}),
        }


def now_iso() -> str:
    """The current UTC time as ISO 8601."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
