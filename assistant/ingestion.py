"""Ingest: find files, load and chunk them, embed what changed, and commit the index atomically."""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .chunking import chunk_text
from .config import Settings
from .embedding import canonical_model_name, get_embedder
from .errors import AssistantError, LoadError
from .language import analyze, detect_language
from .loading import (
    METADATA_FILES,
    SUPPORTED_EXTS,
    file_hash,
    load_document,
    read_bytes,
)
from .stores import ChunkRecord, DocumentRecord, Index, date_key, now_iso

EMBED_BATCH = 32
Progress = Callable[[str, int, int], None]


@dataclass
class IngestReport:
    """What an ingest did, in the shape `assistant ingest --json` prints."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    failed: list[dict] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    chunks: int = 0  # chunks of the documents added or updated in this run
    embedded: int = 0  # of those, how many needed a new embedding
    total_documents: int = 0
    total_chunks: int = 0
    seconds: float = 0.0

    def to_json(self) -> dict:
        """The JSON object of the CLI contract (plus a few extra keys)."""
        return asdict(self)


@dataclass
class _Pending:
    path: Path
    source: str
    data: bytes
    content_hash: str
    meta: dict
    existing: DocumentRecord | None


def _slug(name: str) -> str:
    s = re.sub(r"[^\w.-]+", "-", name.strip().lower(), flags=re.UNICODE).strip("-.")
    return s or "document"


def _display_source(path: Path) -> str:
    try:
        return str(path.relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def discover(paths: Sequence[Path]) -> tuple[list[Path], list[dict], list[Path]]:
    """Files to ingest, files skipped (with reason), and the folders that were walked."""
    files: list[Path] = []
    skipped: list[dict] = []
    folders: list[Path] = []
    seen: set[Path] = set()
    for p in paths:
        if not p.exists() and not p.is_symlink():
            raise AssistantError(f"{p}: no such file or folder")
        if p.is_dir():
            folders.append(p.resolve())
            for root, dirs, names in os.walk(p, followlinks=False):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for n in sorted(names):
                    if n.startswith(".") or n in METADATA_FILES:
                        continue
                    fp = Path(root) / n
                    _consider(fp, files, skipped, seen)
        else:
            _consider(p, files, skipped, seen)
    return files, skipped, folders


def _consider(fp: Path, files: list[Path], skipped: list[dict], seen: set[Path]) -> None:
    try:
        real = fp.resolve(strict=True)
    except (OSError, RuntimeError):
        skipped.append({"source": _display_source(fp.absolute()), "reason": "broken or looping symbolic link"})
        return
    if real in seen:
        return
    seen.add(real)
    if fp.suffix.lower() not in SUPPORTED_EXTS:
        skipped.append({"source": _display_source(fp.absolute()), "reason": f"unsupported file type '{fp.suffix or '(none)'}'"})
        return
    files.append(fp.absolute())


def read_sidecar(folder: Path) -> dict:
    """The metadata.yaml of a folder: file name → metadata, or {} when there is none."""
    for name in METADATA_FILES:
        p = folder / name
        if p.exists():
            import yaml

            try:
                data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
            except (OSError, yaml.YAMLError) as exc:
                raise AssistantError(f"{p}: invalid metadata file ({str(exc).splitlines()[0]})") from None
            if not isinstance(data, dict):
                raise AssistantError(f"{p}: metadata file must map file names to fields")
            return {str(k): v for k, v in data.items() if isinstance(v, dict)}
    return {}


def _reason(exc: AssistantError, source: str, path: Path) -> str:
    msg = str(exc)
    for prefix in (str(path), source):
        if msg.startswith(prefix + ": "):
            return msg[len(prefix) + 2 :]
    return msg


def chunk_id(doc_id: str, title: str, text: str) -> str:
    """A chunk id that stays the same while the chunk's text (and title) do."""
    digest = hashlib.sha1((title + "\n" + text).encode("utf-8")).hexdigest()[:16]
    return f"{doc_id}:{digest}"


def embed_text(title: str, text: str) -> str:
    """What the embedder sees for a chunk: the document title, then the chunk."""
    return f"{title}\n\n{text}" if title and not text.startswith(title) else text


def ingest(
    paths: Sequence[Path],
    settings: Settings,
    full: bool = False,
    progress: Progress | None = None,
) -> IngestReport:
    """Bring the index in step with the given files and folders; only what changed is embedded."""
    t0 = time.perf_counter()
    report = IngestReport()
    model_name = canonical_model_name(settings.embed_model)
    index = Index(settings.index_dir, settings.chroma_url, create=True)
    index.vectors.bind_model(settings.embed_model)
    try:
        with index.writer_lock():
            if full:
                _wipe(index)
            index.check_model(model_name)
            files, skipped, folders = discover(paths)
            report.skipped = skipped
            by_path = {d.path: d for d in index.manifest.documents()}
            pending = _plan(files, by_path, report)
            seen_paths = {str(p) for p in files}
            removed = [
                d for d in by_path.values()
                if d.path not in seen_paths and any(_under(Path(d.path), f) for f in folders)
                and not any(str(Path(d.path)) == f["source"] for f in report.failed)
            ]
            # Files that failed to read this time keep their old version in the index.
            failed_paths = {f["path"] for f in report.failed}
            removed = [d for d in removed if d.path not in failed_paths]
            prepared = _prepare(pending, index, report, settings.embed_model, progress)
            if prepared or removed or index.model is None:
                embedder = get_embedder(settings.embed_model) if prepared else None
                with index.manifest.transaction():
                    for doc, chunks, _ in prepared:
                        index.manifest.put_document(doc, chunks)
                    for d in removed:
                        index.manifest.remove_document(d.doc_id)
                    if embedder is not None:
                        index.manifest.set_meta("model", model_name)
                        index.manifest.set_meta("dim", embedder.dim)
                    index.manifest.set_meta("generation", index.manifest.generation + 1)
                    index.manifest.set_meta("last_ingest", now_iso())
                    index.manifest.set_meta("schema", 1)
                report.removed = len(removed)
                index.refresh_derived()
                _collect_garbage(index)
            for f in report.failed:
                f.pop("path", None)
    finally:
        report.total_documents, report.total_chunks = index.manifest.counts()
        index.close()
    report.seconds = round(time.perf_counter() - t0, 3)
    return report


def _under(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False


def _wipe(index: Index) -> None:
    """Forget everything, model included (for --full)."""
    with index.manifest.transaction() as db:
        db.execute("DELETE FROM documents")
        db.execute("DELETE FROM meta WHERE key IN ('model', 'dim')")
        index.manifest.set_meta("generation", index.manifest.generation + 1)
    try:
        client = index.vectors.collection._client  # noqa: SLF001 - Chroma exposes no other handle
        client.delete_collection(index.vectors.collection_name)
    except Exception:
        index.vectors.delete(index.vectors.all_ids())
    index.vectors._col = None  # noqa: SLF001


def _plan(files: list[Path], by_path: dict[str, DocumentRecord], report: IngestReport) -> list[_Pending]:
    sidecars: dict[Path, dict] = {}
    pending: list[_Pending] = []
    for fp in files:
        source = _display_source(fp)
        if fp.parent not in sidecars:
            sidecars[fp.parent] = read_sidecar(fp.parent)
        meta = sidecars[fp.parent].get(fp.name, {})
        try:
            data = read_bytes(fp)
        except LoadError as exc:
            report.failed.append({"source": source, "reason": _reason(exc, source, fp), "path": str(fp)})
            continue
        h = file_hash(data + json.dumps(meta, sort_keys=True, default=str).encode())
        existing = by_path.get(str(fp))
        if existing is not None and existing.content_hash == h:
            report.unchanged += 1
            continue
        pending.append(_Pending(fp, source, data, h, meta, existing))
    return pending


def _doc_id(p: _Pending, index: Index, taken: set[str]) -> str:
    if p.existing is not None:
        return p.existing.doc_id
    base = _slug(p.path.stem)
    cand = base
    if cand in taken or index.manifest.document(cand) is not None:
        cand = f"{base}-{hashlib.sha1(str(p.path).encode()).hexdigest()[:6]}"
    return cand


def _prepare(
    pending: list[_Pending], index: Index, report: IngestReport, model_spec: str, progress: Progress | None
) -> list[tuple[DocumentRecord, list[ChunkRecord], list[str]]]:
    """Load, chunk and embed the pending documents; write their vectors to Chroma."""
    prepared: list[tuple[DocumentRecord, list[ChunkRecord], list[str]]] = []
    taken: set[str] = set()
    todo_texts: list[str] = []
    todo_ids: list[str] = []
    todo_meta: list[dict] = []
    for n, p in enumerate(pending):
        if progress:
            progress("load", n, len(pending))
        try:
            loaded = load_document(p.path, p.data)
        except LoadError as exc:
            report.failed.append({"source": p.source, "reason": _reason(exc, p.source, p.path), "path": str(p.path)})
            continue
        except Exception as exc:  # a parser bug must not stop the other files
            report.failed.append({"source": p.source, "reason": f"unreadable ({type(exc).__name__}: {exc})"[:200], "path": str(p.path)})
            continue
        meta = p.meta
        doc_id = _doc_id(p, index, taken)
        taken.add(doc_id)
        language = str(meta.get("language") or detect_language(loaded.text))
        title = str(meta.get("title") or loaded.title or p.path.stem)
        date = str(meta["date"]) if meta.get("date") else None
        doc = DocumentRecord(
            doc_id=doc_id, path=str(p.path), source=p.source, content_hash=p.content_hash, title=title,
            type=meta.get("type"), language=language, date=date, publisher=meta.get("publisher"),
            text=loaded.text, page_starts=loaded.page_starts, n_chunks=0,
            size=len(p.data), mtime=_mtime(p.path), ingested_at=now_iso(),
        )
        chunks = []
        seen_ids: set[str] = set()
        for c in chunk_text(loaded.text, loaded.page_starts):
            cid = chunk_id(doc_id, title, c.text)
            if cid in seen_ids:
                cid = f"{cid}-{c.seq}"
            seen_ids.add(cid)
            terms = " ".join(analyze(title + "\n" + c.text, language))
            chunks.append(ChunkRecord(cid, doc_id, c.seq, c.page, c.page_end, c.start, c.end, c.text, terms))
        doc.n_chunks = len(chunks)
        prepared.append((doc, chunks, [c.id for c in chunks]))
        if p.existing is None:
            report.added += 1
        else:
            report.updated += 1
        report.chunks += len(chunks)
        md = {"doc_id": doc_id, "lang": language, "type": doc.type or "", "date": date_key(date), "source": p.source}
        for c in chunks:
            todo_ids.append(c.id)
            todo_texts.append(embed_text(title, c.text))
            todo_meta.append(md)
    if not todo_ids:
        return prepared
    # Reuse vectors Chroma already holds for identical chunks (unchanged text, resumed ingest).
    known = index.vectors.get_vectors(todo_ids) if index.model == canonical_model_name(model_spec) else {}
    need = [i for i, cid in enumerate(todo_ids) if cid not in known]
    report.embedded = len(need)
    if need:
        embedder = get_embedder(model_spec)
        done = 0
        for b in range(0, len(need), EMBED_BATCH):
            batch = need[b : b + EMBED_BATCH]
            vecs = embedder.embed_passages([todo_texts[i] for i in batch])
            index.vectors.upsert([todo_ids[i] for i in batch], vecs, [todo_meta[i] for i in batch])
            done += len(batch)
            if progress:
                progress("embed", done, len(need))
    # Refresh metadata of reused vectors (source or type may have changed).
    reuse = [i for i, cid in enumerate(todo_ids) if cid in known]
    if reuse:
        import numpy as np

        index.vectors.upsert(
            [todo_ids[i] for i in reuse], np.stack([known[todo_ids[i]] for i in reuse]), [todo_meta[i] for i in reuse]
        )
    return prepared


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _collect_garbage(index: Index) -> None:
    """Delete vectors the manifest no longer refers to (old versions, removed files, crashed runs)."""
    stale = index.vectors.all_ids() - index.manifest.chunk_ids()
    if stale:
        index.vectors.delete(stale)


def remove_paths(paths: Iterable[Path], settings: Settings) -> int:
    """Remove the documents at the given paths (or under the given folders) from the index."""
    index = Index(settings.index_dir, settings.chroma_url)
    try:
        with index.writer_lock():
            targets = [p.absolute() for p in paths]
            docs = [
                d for d in index.manifest.documents()
                if any(Path(d.path) == t or _under(Path(d.path), t) or d.source == str(t) for t in targets)
            ]
            if not docs:
                return 0
            with index.manifest.transaction():
                for d in docs:
                    index.manifest.remove_document(d.doc_id)
                index.manifest.set_meta("generation", index.manifest.generation + 1)
                index.manifest.set_meta("last_ingest", now_iso())
            index.refresh_derived()
            _collect_garbage(index)
            return len(docs)
    finally:
        index.close()
