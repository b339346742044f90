"""The Chroma collection of chunk vectors (local folder or a server by URL) and the server URL checks."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import AssistantError

if TYPE_CHECKING:
    from .dense import DenseMirror

CHROMA_DIR = "chroma"
COLLECTION = "chunks"


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
        # Vectors already fetched from the server (a team cache's catch-up), read before asking Chroma.
        self.prefetched: dict[str, np.ndarray] = {}

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
            from ..embedding import get_embedder

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
        out: dict[str, np.ndarray] = {c: self.prefetched[c] for c in ids if c in self.prefetched}
        ids = [c for c in dict.fromkeys(ids) if c not in out]
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


_ANSWERED: set[str] = set()  # server URLs that answered as Chroma in this process (no second heartbeat)


def check_chroma_server(url: str, timeout: float = 5.0) -> None:
    """Raise a one-line error unless the Chroma server at `url` answers its heartbeat (once per process and URL)."""
    import http.client
    import urllib.error
    import urllib.request

    if url in _ANSWERED:
        return
    try:
        with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=timeout) as resp:
            body = resp.read(2000)
        if b"heartbeat" not in body:
            raise AssistantError(f"{url}: this is not a Chroma server (no heartbeat at /api/v2/heartbeat)")
    except urllib.error.HTTPError as exc:
        raise AssistantError(f"{url}: not a Chroma server, or an incompatible version (HTTP {exc.code} at /api/v2/heartbeat)") from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        raise _server_error(url, exc) from None
    except http.client.HTTPException:
        raise AssistantError(f"{url}: this is not a Chroma server (no HTTP answer at /api/v2/heartbeat)") from None
    _ANSWERED.add(url)


def chroma_server_answered(url: str) -> None:
    """Note that the server at `url` just gave a Chroma answer: check_chroma_server need not ask it again."""
    _ANSWERED.add(url)


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
            from ..embedding import get_embedder

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
