"""The team server protocol: a Chroma server is the store of record; every client keeps a derived cache.

For a collection name N (default `policy-assistant`, `[chroma] collection` / ASSISTANT_CHROMA_COLLECTION)
the server holds three collections:

- `N-chunks`: one vector per chunk (id = chunk id; metadata doc_id, lang, type, date, source).
- `N-docs`: one record per document *version* (id `doc_id@<16 hex>`, a hash of the file's content hash
  and ingest time): a JSON document with the document's fields, canonical text, page starts, fingerprint
  (text hash, MinHash) and its chunks (id, seq, page, page_end, start, end). A chunk's text is
  `text[start:end]` of the canonical text (chunking guarantees it) and its keyword terms are recomputed
  by each client with `ingestion.chunk_terms`, so neither is stored twice.
- `N-log`: commit records `g000000000001`, ... (the versions added, the documents removed, duplicate
  files and near-duplicate pairs put or removed), `head` (the committed generation, model and dim) and
  `lease` (the one writer: owner, token, expiry).

A writer (under the lease, its cache caught up to head H) writes vectors during the run; at each commit
it writes the new doc versions, then log record H+1, then `head = H+1` (one upsert: the commit point),
then commits its own cache, then deletes the doc versions no longer named. Readers trust only what log
records up to head name, so a writer killed at any moment leaves them at H or H+1; the next writer
deletes what a killed one left (log records above head, unnamed doc versions, unnamed vectors).

A client's cache (`$XDG_CACHE_HOME/policy-assistant/<host>-<port>-<N>/`) is an ordinary index folder
(manifest, keyword index, dense mirror). Each command reads `head`; when it moved, the client fetches the
log records since its cache's generation, then only the doc versions and vectors it lacks, and applies
them in one SQLite transaction before answering. Everything is fetched before anything is written, so a
server lost mid-way leaves the cache as it was.

Reading `head` is one HTTP request when the cache is current: a POST `.../collections/<id>/get` to the
`N-log` collection's id, which the cache remembers (meta `server_log_collection`). That answer doubles as
the check that a Chroma server is there (no separate heartbeat). When the id is unknown or no longer
exists (the collection was deleted and made again), the client resolves the name once more (GET
`.../collections/N-log`); a re-created index is still told apart by the `index_id` its head carries. Any
answer that is not Chroma's falls back to the heartbeat check and its one-line error.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import socket
import sqlite3
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

from ..errors import EXIT_LOCKED, AssistantError, IndexLockedError, IndexMissingError
from .manifest import MANIFEST, ChunkRecord, DocumentRecord, Manifest
from .vectors import VectorStore, check_chroma_server, chroma_server_answered, normalize_chroma_url

if TYPE_CHECKING:
    from .index import Index

DEFAULT_COLLECTION = "policy-assistant"
LEASE_SECONDS = 120.0  # a writer's lease lasts this long unless renewed (ASSISTANT_LEASE_SECONDS)
LEASE_SETTLE = 0.5  # seconds between writing the lease and reading it back (Chroma has no compare-and-swap)
HEAD, LEASE = "head", "lease"
SERVER_GENERATION = "server_generation"  # cache meta: the server generation the cache reflects
SERVER_INDEX_ID = "server_index_id"  # cache meta: the id of the server's index (a re-created one has another)
SERVER_LOG_COLLECTION = "server_log_collection"  # cache meta: the Chroma id of the N-log collection (one request for head)
LAST_SYNC = "last_sync"  # cache meta: what the last catch-up fetched (JSON)
TEAM_VECTORS = "team"  # cache meta `vectors`: a team server's cache
_DUMMY = [1.0]  # docs and log records carry no meaningful vector
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{1,54}[A-Za-z0-9]")
_BATCH = 500
_PAYLOAD = 4_000_000  # characters of doc versions per upsert


def open_index(settings, create: bool = False) -> Index:
    """The index the settings name: a local (or old-layout server) index folder, or a team cache caught up to the server.

    Team mode is `--chroma-url` (or its setting) without `--index` (or its setting). A writer (create)
    catches up under the lease instead (ingestion), so nothing is fetched here for it.
    """
    from .index import Index

    if not getattr(settings, "team_mode", False):
        return Index(settings.index_dir, settings.chroma_url, create=create)
    server = TeamServer(settings.chroma_url, settings.chroma_collection, settings.embed_model)
    folder = cache_dir(server.url, server.name)
    head = None
    if create:
        check_chroma_server(server.url)  # before the cache folder is made or touched
    else:
        # One request when the cache is current; an unreachable or non-Chroma server stops here with one line,
        # before the cache folder is made or touched.
        server.log_collection_id = _cached_meta(folder, SERVER_LOG_COLLECTION)
        head = server.head()
        if head is None:
            raise IndexMissingError(
                f"{server.url}: the team index '{server.name}' is empty; run "
                f"`assistant ingest PATH --chroma-url {server.url}` first"
            )
    index = Index(folder, server.url, create=True, team=server)  # the server answered: no second heartbeat
    index.vectors.bind_model(settings.embed_model)
    try:
        if head is not None:
            server.sync(index, head=head)  # the head just read: a current cache costs no second request
            if server.log_collection_id and index.manifest.get_meta(SERVER_LOG_COLLECTION) != server.log_collection_id:
                index.manifest.set_meta(SERVER_LOG_COLLECTION, server.log_collection_id)
            if index.manifest.counts()[1] and index.dense_mirror() is None:
                with index.writer_lock(wait=60.0):  # a catch-up killed before its derived files: redo them
                    if index.dense_mirror() is None:
                        index.refresh_derived()
    except BaseException:
        index.close()
        raise
    return index


def _cached_meta(folder: Path, key: str) -> str | None:
    """One meta value of an existing cache folder's manifest (None when there is none), read without creating anything."""
    path = folder / MANIFEST
    if not path.is_file():
        return None
    try:
        db = sqlite3.connect(str(path), timeout=5)  # the file exists: nothing is created
        try:
            row = db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        finally:
            db.close()
    except sqlite3.Error:
        return None
    return row[0] if row and row[0] else None


def check_collection_name(name: str) -> str:
    """The collection name if Chroma accepts it with our suffixes, else a one-line error."""
    if not _NAME.fullmatch(name) or ".." in name:
        raise AssistantError(
            f"{name!r}: not a usable Chroma collection name (3-56 letters, digits, '.', '_' or '-', "
            "starting and ending with a letter or digit)"
        )
    return name


def cache_dir(url: str, collection: str) -> Path:
    """This client's cache folder for one team index: under $XDG_CACHE_HOME/policy-assistant/."""
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "policy-assistant"
    u = urlparse(normalize_chroma_url(url))
    host = re.sub(r"[^A-Za-z0-9.-]+", "_", u.hostname or "localhost")
    return base / f"{host}-{u.port or (443 if u.scheme == 'https' else 8000)}-{collection}"


def log_id(generation: int) -> str:
    """The id of the commit record of a generation."""
    return f"g{generation:012d}"


def version_id(doc_id: str, content_hash: str, ingested_at: str) -> str:
    """The id of one version of a document on the server."""
    return f"{doc_id}@{hashlib.sha1(f'{content_hash}|{ingested_at}'.encode()).hexdigest()[:16]}"


class _Moved(Exception):
    """A record a catch-up needed was deleted under it: a newer commit landed; start again."""


def _snapshot(m: Manifest) -> dict:
    """What a commit is compared against: document versions, duplicate files, near-duplicate pairs."""
    return {
        "docs": {r[0]: (r[1], r[2]) for r in m.db.execute("SELECT doc_id, content_hash, ingested_at FROM documents")},
        "aliases": {p: (a["source"], a["doc_id"], a["content_hash"]) for p, a in m.aliases().items()},
        "near": {(r[0], r[1]): r[2] for r in m.db.execute("SELECT a, b, similarity FROM near_duplicates")},
    }


class TeamServer:
    """One team index on a Chroma server: head, log, doc versions, lease, and the catch-up of a cache."""

    def __init__(self, url: str, name: str = DEFAULT_COLLECTION, model_spec: str = "multilingual-e5-small") -> None:
        self.url = normalize_chroma_url(url)
        self.name = check_collection_name(name)
        here = Path(".")
        self.docs = VectorStore(here, self.url, f"{self.name}-docs")
        self.log = VectorStore(here, self.url, f"{self.name}-log")
        for s in (self.docs, self.log):
            s.bind_model(model_spec)
        self.token: str | None = None
        self.renewed = 0.0
        self.took_over = False  # the lease was taken from a writer that did not release it (crashed)
        self.garbage: list[str] = []  # doc versions a commit made unreachable, deleted after it
        self.last_sync: dict | None = None
        self.head_seen: dict | None = None
        self.log_collection_id: str | None = None  # the N-log collection's Chroma id, once known (saves resolving its name)

    @property
    def chunks_collection(self) -> str:
        """The name of the chunk-vector collection."""
        return f"{self.name}-chunks"

    # --- small records --------------------------------------------------------------------------
    def _get(self, store: VectorStore, ids: Sequence[str], include: list[str]) -> dict:
        with store._guard():  # noqa: SLF001 - one module family
            return store.collection.get(ids=list(ids), include=include)

    def _put(self, store: VectorStore, ids: list[str], metadatas: list[dict], documents: list[str] | None = None) -> None:
        with store._guard():  # noqa: SLF001
            store.collection.upsert(ids=ids, embeddings=[_DUMMY] * len(ids), metadatas=metadatas, documents=documents)

    def head(self) -> dict | None:
        """The committed generation, model and dim, or None when nothing was ever committed."""
        if self.log._col is None:  # noqa: SLF001 - not connected yet: plain HTTP, no chromadb import
            light = self._head_over_http()
            if light is not False:
                self.head_seen = light  # type: ignore[assignment]
                return self.head_seen
        res = self._get(self.log, [HEAD], ["metadatas"])
        self.head_seen = dict(res["metadatas"][0]) if res["ids"] else None
        return self.head_seen

    def _head_over_http(self) -> dict | None | bool:
        """The head record over plain REST (a reader whose cache is current never loads chromadb).

        One request when the log collection's id is known, two when its name must be resolved (first use, or
        the collection was deleted and made again). A Chroma answer marks the server as checked. False when an
        answer is not what this version of Chroma's API gives (then the client is used, after the heartbeat).
        """
        base = f"{self.url}/api/v2/tenants/default_tenant/databases/default_database/collections"
        for _ in range(2):
            remembered = self.log_collection_id is not None
            if not remembered:
                code, body = self._rest(f"{base}/{self.name}-log")
                if code == 404 and _chroma_error(body):
                    chroma_server_answered(self.url)
                    return None  # no log collection: nothing was ever committed
                if code != 200 or not isinstance(body, dict) or not isinstance(body.get("id"), str):
                    return False
                self.log_collection_id = body["id"]
            code, body = self._rest(f"{base}/{self.log_collection_id}/get", {"ids": [HEAD], "include": ["metadatas"]})
            if code != 200 and remembered:
                self.log_collection_id = None  # gone (re-created since) or never valid: resolve the name again
                continue
            try:
                if code != 200 or not isinstance(body, dict):
                    return False
                head = dict(body["metadatas"][0]) if body["ids"] else None
            except (KeyError, TypeError, IndexError, ValueError):
                return False
            chroma_server_answered(self.url)
            return head
        return False

    def _rest(self, url: str, payload: dict | None = None) -> tuple[int, object]:
        """One REST call: (HTTP status, parsed JSON body or None); status 0 when the answer is not HTTP.

        An unreachable server raises the one-line 'cannot reach' error.
        """
        import http.client
        import urllib.error
        import urllib.request

        req = urllib.request.Request(url) if payload is None else urllib.request.Request(
            url, data=json.dumps(payload).encode(), headers={"content-type": "application/json"}, method="POST")
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                code, raw = r.status, r.read()
        except urllib.error.HTTPError as exc:
            try:
                code, raw = exc.code, exc.read()
            except (OSError, http.client.HTTPException):
                code, raw = exc.code, b""
        except (urllib.error.URLError, OSError) as exc:
            from .vectors import _server_error

            raise _server_error(self.url, exc) from None
        except http.client.HTTPException:
            return 0, None
        try:
            return code, json.loads(raw)
        except ValueError:
            return code, None

    # --- the lease ------------------------------------------------------------------------------
    @staticmethod
    def lease_seconds() -> float:
        """How long a lease lasts without renewal."""
        return float(os.environ.get("ASSISTANT_LEASE_SECONDS") or LEASE_SECONDS)

    def _lease(self) -> dict | None:
        res = self._get(self.log, [LEASE], ["metadatas"])
        return dict(res["metadatas"][0]) if res["ids"] else None

    def _write_lease(self, expires: float, released: bool = False) -> None:
        owner = f"{_user()}@{socket.gethostname()} (pid {os.getpid()})"
        md = {"owner": owner, "host": socket.gethostname(), "pid": os.getpid(), "token": self.token or "",
              "expires": float(expires), "released": released}
        self._put(self.log, [LEASE], [md])
        self.renewed = time.monotonic()

    def acquire(self) -> None:
        """Take the writer's lease, or stop at once (exit 5) naming the holder and when it expires."""
        now = time.time()
        cur = self._lease()
        if cur and not cur.get("released") and float(cur.get("expires", 0)) > now and not _dead_here(cur):
            raise IndexLockedError(_held_message(self.url, self.name, cur, now))
        self.took_over = bool(cur) and not cur.get("released")
        self.token = uuid.uuid4().hex
        self._write_lease(now + self.lease_seconds())
        time.sleep(LEASE_SETTLE)  # a rival that wrote at the same moment: the last write wins, both re-read
        cur = self._lease()
        if not cur or cur.get("token") != self.token:
            self.token = None
            raise IndexLockedError(_held_message(self.url, self.name, cur or {}, time.time()))

    def renew(self, force: bool = False) -> None:
        """Extend the lease (at most every quarter lease unless forced); stop if another writer took it."""
        if self.token is None or (not force and time.monotonic() - self.renewed < self.lease_seconds() / 4):
            return
        cur = self._lease()
        if not cur or cur.get("token") != self.token:
            self.token = None
            holder = f" by {cur['owner']}" if cur else ""
            raise AssistantError(
                f"{self.url}: this ingest's lease on '{self.name}' expired and was taken{holder}; it stopped "
                "(its earlier commits are kept); run it again when the other ingest ends",
                exit_code=EXIT_LOCKED,
            )
        self._write_lease(time.time() + self.lease_seconds())

    def release(self) -> None:
        """Give the lease back (if it is still ours)."""
        if self.token is None:
            return
        try:
            cur = self._lease()
            if cur and cur.get("token") == self.token:
                self._write_lease(0.0, released=True)
        finally:
            self.token = None

    # --- the writer's commit --------------------------------------------------------------------
    def snapshot(self, m: Manifest) -> dict:
        """The cache's committed state at the start of a commit (compared with it at the end)."""
        return _snapshot(m)

    def publish(self, index: Index, before: dict) -> None:
        """Make the cache's pending changes (inside its open transaction) the server's next generation.

        Doc versions first, then the log record, then head (the commit point). Called by
        Index.transaction() just before the cache's own commit.
        """
        from ..ingestion import _fault

        m = index.manifest
        after = _snapshot(m)
        changed = [d for d, v in after["docs"].items() if before["docs"].get(d) != v]
        removed = [d for d in before["docs"] if d not in after["docs"]]
        touched = set(changed) | set(removed)
        aliases_put = [
            {"path": p, "source": a[0], "doc_id": a[1], "content_hash": a[2]}
            for p, a in after["aliases"].items() if before["aliases"].get(p) != a or a[1] in touched
        ]
        aliases_removed = [p for p in before["aliases"] if p not in after["aliases"]]
        near_put = [[a, b, s] for (a, b), s in after["near"].items()
                    if before["near"].get((a, b)) != s or a in touched or b in touched]
        near_removed = [[a, b] for (a, b) in before["near"] if (a, b) not in after["near"]]
        model, dim = m.get_meta("model"), m.get_meta("dim")
        head = self.head()
        h = int(head["generation"]) if head else 0
        if not (changed or removed or aliases_put or aliases_removed or near_put or near_removed) and head \
                and (head.get("model"), str(head.get("dim"))) == (model, str(dim)):
            return
        if h != int(m.get_meta(SERVER_GENERATION) or 0):
            raise AssistantError(
                f"{self.url}: the team index '{self.name}' moved on to generation {h} while this ingest ran "
                "(did another writer ignore the lease?); nothing of this batch was committed; run the ingest again"
            )
        self.renew(force=True)  # still ours, just before the commit point
        versions = self._write_versions(m, changed, after["docs"])
        _fault("server-after-docs")
        record = {
            "generation": h + 1, "added": versions, "removed": removed, "aliases_put": aliases_put,
            "aliases_removed": aliases_removed, "near_put": near_put, "near_removed": near_removed,
            "model": model, "dim": int(dim) if dim else None, "at": _now(),
        }
        self._put(self.log, [log_id(h + 1)], [{"generation": h + 1, "kind": "commit"}], [json.dumps(record)])
        _fault("server-after-log")
        index_id = (head or {}).get("index_id") or uuid.uuid4().hex[:16]  # made at the first commit, kept
        head_md = {"generation": h + 1, "model": model or "", "dim": int(dim or 0), "at": record["at"], "index_id": index_id}
        self._put(self.log, [HEAD], [head_md])  # the commit point
        self.head_seen = head_md
        _fault("server-after-head")
        m.set_meta(SERVER_GENERATION, h + 1)
        m.set_meta(SERVER_INDEX_ID, index_id)
        m.set_meta(SERVER_LOG_COLLECTION, str(self.log.collection.id))  # the writer's next read: one request
        self.garbage += [version_id(d, *before["docs"][d]) for d in touched if d in before["docs"]]

    def _write_versions(self, m: Manifest, doc_ids: Sequence[str], versions: dict) -> list[str]:
        ids: list[str] = []
        batch: tuple[list, list, list] = ([], [], [])
        size = 0
        for doc_id in doc_ids:
            d = m.document(doc_id)
            assert d is not None
            fp = m.db.execute("SELECT text_hash, minhash FROM fingerprints WHERE doc_id=?", (doc_id,)).fetchone()
            chunks = [[c.id, c.seq, c.page, c.page_end, c.start, c.end] for c in m.chunks_of(doc_id)]
            payload = json.dumps({
                "doc_id": d.doc_id, "path": d.path, "source": d.source, "content_hash": d.content_hash,
                "title": d.title, "type": d.type, "language": d.language, "date": d.date, "publisher": d.publisher,
                "text": d.text, "page_starts": d.page_starts, "size": d.size, "mtime": d.mtime,
                "ingested_at": d.ingested_at, "text_hash": fp[0] if fp else "", "minhash": fp[1].hex() if fp else "",
                "chunks": chunks, "ocr": bool(getattr(d, "ocr", False)),
            }, ensure_ascii=False)
            vid = version_id(doc_id, *versions[doc_id])
            ids.append(vid)
            batch[0].append(vid)
            batch[1].append({"doc_id": doc_id, "source": d.source, "n_chunks": len(chunks)})
            batch[2].append(payload)
            size += len(payload)
            if len(batch[0]) >= _BATCH or size >= _PAYLOAD:
                self._put(self.docs, *batch)
                batch, size = ([], [], []), 0
        if batch[0]:
            self._put(self.docs, *batch)
        return ids

    def after_commit(self) -> None:
        """Delete the doc versions the last commit made unreachable (a kill before this leaves them to cleanup)."""
        if self.garbage:
            ids, self.garbage = self.garbage, []
            with self.docs._guard():  # noqa: SLF001
                for i in range(0, len(ids), _BATCH):
                    self.docs.collection.delete(ids=ids[i : i + _BATCH])

    def cleanup(self, index: Index) -> int:
        """Delete what killed writers left: log records above head and doc versions no commit names; returns how many."""
        head = self.head()
        h = int(head["generation"]) if head else 0
        with self.log._guard():  # noqa: SLF001
            above = self.log.collection.get(where={"generation": {"$gt": h}}, include=[])["ids"]
            if above:
                self.log.collection.delete(ids=above)
        named = {version_id(d, *v) for d, v in _snapshot(index.manifest)["docs"].items()}
        stale = [v for v in self._all_ids(self.docs) if v not in named]
        if stale:
            with self.docs._guard():  # noqa: SLF001
                for i in range(0, len(stale), _BATCH):
                    self.docs.collection.delete(ids=stale[i : i + _BATCH])
        return len(above) + len(stale)

    @staticmethod
    def _all_ids(store: VectorStore) -> list[str]:
        return sorted(store.all_ids())

    # --- the reader's catch-up ------------------------------------------------------------------
    def sync(self, index: Index, wait: float = 60.0, head: dict | None = None) -> dict:
        """Bring the cache up to the server's head (incrementally when it can); returns what it fetched.

        `head`: the head record the caller has just read (saves reading it again); read here when not given.
        """
        m = index.manifest
        head = head or self.head()
        if head is None:
            if m.get_meta(SERVER_GENERATION) is not None:  # the server's index was deleted: so is this copy
                with index.writer_lock(wait=wait):
                    self._forget(index)
            return self._report(index, 0, 0, 0, 0, False, 0.0, fetched=False)
        h = int(head["generation"])
        if self._current(m, head):
            return self._report(index, h, h, 0, 0, False, 0.0, fetched=False)
        with index.writer_lock(wait=wait):
            for _ in range(5):
                head = self.head()
                assert head is not None
                h = int(head["generation"])
                if self._current(m, head):
                    return self._report(index, h, h, 0, 0, False, 0.0, fetched=False)
                try:
                    return self._catch_up(index, head)
                except _Moved:
                    continue
        raise AssistantError(f"{self.url}: the team index '{self.name}' kept changing while this client caught up; try again")

    @staticmethod
    def _current(m: Manifest, head: dict) -> bool:
        cached = m.get_meta(SERVER_GENERATION)
        return (cached is not None and int(cached) == int(head["generation"]) and _same_index(m, head)
                and m.get_meta("model") == (head.get("model") or None))

    @staticmethod
    def _forget(index: Index) -> None:
        """Empty the cache (the server's index is gone)."""
        m = index.manifest
        with m.transaction():
            m.db.execute("DELETE FROM documents")
            m.db.execute("DELETE FROM aliases")
            m.db.execute(f"DELETE FROM meta WHERE key IN ('model', 'dim', 'vectors_model', '{SERVER_GENERATION}', '{SERVER_INDEX_ID}')")
            m.set_meta("generation", m.generation + 1)
        index.refresh_derived()

    def _catch_up(self, index: Index, head: dict) -> dict:
        t0 = time.perf_counter()
        m = index.manifest
        h = int(head["generation"])
        cached = m.get_meta(SERVER_GENERATION)
        full = (cached is None or int(cached) > h or not _same_index(m, head)
                or m.get_meta("model") not in (None, head.get("model") or None))
        start = 0 if full else int(cached)
        # 1. everything from the server, before anything is written
        records = []
        ids = [log_id(g) for g in range(start + 1, h + 1)]
        for i in range(0, len(ids), _BATCH):
            res = self._get(self.log, ids[i : i + _BATCH], ["documents"])
            got = dict(zip(res["ids"], res["documents"]))
            if len(got) < len(ids[i : i + _BATCH]):
                raise AssistantError(
                    f"{self.url}: the team index '{self.name}' lacks commit records below its head; "
                    "rebuild it with `assistant ingest --full --chroma-url ...`"
                )
            records += [json.loads(got[x]) for x in ids[i : i + _BATCH]]
        final: dict[str, str | None] = {}
        for r in records:
            for d in r["removed"]:
                final[d] = None
            for v in r["added"]:
                final[v.split("@", 1)[0]] = v
        wanted = [v for v in final.values() if v]
        versions: dict[str, dict] = {}
        for i in range(0, len(wanted), _BATCH):
            res = self._get(self.docs, wanted[i : i + _BATCH], ["documents"])
            versions.update((vid, json.loads(doc)) for vid, doc in zip(res["ids"], res["documents"]))
        if len(versions) < len(wanted):
            raise _Moved  # deleted by a newer commit's clean-up
        have = set() if full else m.known_chunk_ids(c[0] for v in versions.values() for c in v["chunks"])
        need = [c[0] for v in versions.values() for c in v["chunks"] if c[0] not in have]
        vectors = index.vectors.get_vectors_from_chroma(need)
        if len(vectors) < len(set(need)):
            raise _Moved
        fetched = time.perf_counter() - t0
        # 2. one transaction
        from ..ingestion import chunk_terms

        since = m.generation
        with m.transaction():
            if full:
                m.db.execute("DELETE FROM documents")
                m.db.execute("DELETE FROM aliases")
            present = {r[0] for r in m.db.execute("SELECT doc_id FROM documents")}
            for r in records:
                for d in r["removed"]:
                    m.remove_document(d)
                    present.discard(d)
                for vid in r["added"]:
                    doc_id = vid.split("@", 1)[0]
                    if final.get(doc_id) == vid:
                        _put_version(m, versions[vid], chunk_terms)
                        present.add(doc_id)
                    else:  # a version a later record replaced or removed
                        m.remove_document(doc_id)
                        present.discard(doc_id)
                for p in r["aliases_removed"]:
                    m.remove_alias(p)
                for a in r["aliases_put"]:
                    if a["doc_id"] in present:
                        m.put_alias(a["path"], a["source"], a["doc_id"], a["content_hash"])
                for a, b in r["near_removed"]:
                    m.remove_near_duplicate(a, b)
                for a, b, s in r["near_put"]:
                    if a in present and b in present:
                        m.put_near_duplicate(a, b, s)
            m.set_meta("model", head.get("model") or "")
            m.set_meta("dim", int(head.get("dim") or 0))
            m.set_meta("vectors", TEAM_VECTORS)
            m.set_meta("vectors_model", head.get("model") or "")
            from ..language import ANALYZER_VERSION

            m.set_meta("analyzer", ANALYZER_VERSION)
            m.set_meta("generation", since + 1)
            m.set_meta("last_ingest", head.get("at") or "")
            m.set_meta(SERVER_GENERATION, h)
            m.set_meta(SERVER_INDEX_ID, head.get("index_id") or "")
        applied = time.perf_counter() - t0 - fetched
        index.vectors.prefetched = vectors
        try:
            changed = {v.split("@", 1)[0] for v in wanted}
            index.refresh_derived(None if full else changed, None if full else since)
        finally:
            index.vectors.prefetched = {}
        total = time.perf_counter() - t0
        return self._report(index, start, h, len(wanted), len(need), full, total,
                            timings={"fetch_seconds": fetched, "apply_seconds": applied,
                                     "derived_seconds": total - fetched - applied})

    def _report(self, index: Index, start: int, h: int, docs: int, chunks: int, full: bool, seconds: float,
                fetched: bool = True, timings: dict | None = None) -> dict:
        """What a catch-up did (kept in the cache for `index status` when it fetched anything)."""
        report = {"from": start, "to": h, "documents_fetched": docs, "chunks_fetched": chunks, "full": full,
                  "seconds": round(seconds, 3), **{k: round(v, 3) for k, v in (timings or {}).items()}, "at": _now()}
        if fetched:
            index.manifest.set_meta(LAST_SYNC, json.dumps(report))
        self.last_sync = report
        return report

    def status(self, index: Index) -> dict:
        """The keys `index status` adds for a team index."""
        head = self.head_seen if self.head_seen is not None else self.head()
        last = index.manifest.get_meta(LAST_SYNC)
        cached = index.manifest.get_meta(SERVER_GENERATION)
        return {
            "team": True,
            "server_generation": int(head["generation"]) if head else 0,
            "cache_generation": int(cached) if cached is not None else None,
            "cache": str(index.dir),
            "collection": self.name,
            "last_sync": json.loads(last) if last else None,
            "this_sync": self.last_sync,
        }


def _chroma_error(body: object) -> bool:
    """Whether an error answer is Chroma's 'not found' (not some other web server's 404)."""
    return isinstance(body, dict) and body.get("error") == "NotFoundError"


def _same_index(m: Manifest, head: dict) -> bool:
    """Whether the cache was made from the index the head belongs to (not from a deleted and re-created one)."""
    return (m.get_meta(SERVER_INDEX_ID) or "") == (head.get("index_id") or "")


def _put_version(m: Manifest, v: dict, chunk_terms) -> None:
    """Write one fetched doc version into the cache (inside a transaction)."""
    text = v["text"]
    doc = DocumentRecord(
        v["doc_id"], v["path"], v["source"], v["content_hash"], v["title"], v.get("type"), v["language"],
        v.get("date"), v.get("publisher"), text, v.get("page_starts"), len(v["chunks"]), v.get("size"),
        v.get("mtime"), v.get("ingested_at") or "",
    )
    chunks = [
        ChunkRecord(cid, doc.doc_id, seq, page, page_end, start, end, text[start:end],
                    chunk_terms(doc.title, text[start:end], doc.language))
        for cid, seq, page, page_end, start, end in v["chunks"]
    ]
    m.put_document(doc, chunks, v.get("text_hash") or "", bytes.fromhex(v.get("minhash") or ""))
    if v.get("ocr"):  # a schema with the ocr flag (documents read by OCR)
        try:
            m.db.execute("UPDATE documents SET ocr=1 WHERE doc_id=?", (doc.doc_id,))
        except sqlite3.OperationalError:
            pass


def _dead_here(lease: dict) -> bool:
    """Whether the lease holder is a process on this machine that no longer runs (a killed ingest)."""
    if lease.get("host") != socket.gethostname():
        return False
    try:
        os.kill(int(lease.get("pid", 0)), 0)
    except ProcessLookupError:
        return True
    except (OSError, ValueError):
        return False
    return False


def _held_message(url: str, name: str, lease: dict, now: float) -> str:
    expires = float(lease.get("expires", 0))
    when = time.strftime("%H:%M:%S UTC", time.gmtime(expires)) if expires else "soon"
    return (
        f"{url}: {lease.get('owner', 'another writer')} is writing the team index '{name}'; its lease expires at "
        f"{when} (in {max(0, int(expires - now + 0.999))} s) unless renewed; try again then"
    )


def _user() -> str:
    try:
        import getpass

        return getpass.getuser()
    except Exception:  # no user name in this environment
        return "someone"


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())

