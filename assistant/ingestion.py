"""Ingest: find files, load and chunk them, embed what changed, and commit the index atomically.

Crash safety: vectors are written to Chroma first (a chunk's id is its document id plus a hash of
its title and text, so an unchanged chunk keeps its vector and a re-run finds the vectors a killed
run already wrote); prepared documents wait in temporary tables; then the manifest changes are
committed in ONE SQLite transaction. Readers only trust chunk ids the manifest knows, so a kill at any
moment leaves the index as it was before that commit or as it is after it.

A long run commits its finished documents in batches (every COMMIT_DOCUMENTS documents or
COMMIT_SECONDS seconds), each batch one such transaction, and commits what it finished when asked to
stop (`stop()`, Ctrl-C in the CLI): an interrupted or killed ingest keeps its finished batches and the
next run goes on from there. Removals of files that left are committed with the last batch.
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
import re
import signal
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .chunking import chunk_text
from .config import Settings
from .embedding import canonical_model_name, get_embedder
from .errors import AssistantError, LoadError
from .language import ANALYZER_VERSION, LANGUAGES, analyze, detect_language
from .loading import (
    METADATA_FILES,
    SUPPORTED_EXTS,
    file_hash,
    hash_file,
    load_document,
    read_bytes,
)
from .stores import (
    DENSE_DIR,
    KEYWORD_DIR,
    ChunkRecord,
    DocumentRecord,
    Index,
    KeywordIndex,
    date_key,
    is_date,
    now_iso,
    open_index,
)

EMBED_BATCH = 32
COMMIT_DOCUMENTS = 500  # a long ingest commits its finished documents this often ...
COMMIT_SECONDS = 180.0  # ... or after this many seconds, whichever comes first
PENDING_META = "vectors_pending"  # "1" while Chroma may hold vectors the manifest no longer (or not yet) knows
UPSERT_BATCH = 1024  # vectors written to Chroma per call
FLUSH_SECONDS = 5.0  # ... or sooner, when embedding is slow
EMBED_CACHE = 4096  # identical chunk texts within a run (boilerplate) are embedded once
NEAR_DUPLICATE = 0.8  # Jaccard similarity of word 5-gram shingles that flags a near-duplicate
SHINGLE_WORDS = 5
SHINGLE_MAX_CHARS = 2_000_000  # near-duplicate detection reads the first 2 million characters
MINHASH_PERMS = 64
LSH_BANDS, LSH_ROWS = 16, 4  # MINHASH_PERMS = LSH_BANDS * LSH_ROWS
# progress(phase, done, total): "check" (files hashed), "load" (documents read, chunked and embedded;
# total known), "embed" (chunks so far, total 0), and steps without a count (0, 0): "commit", "refresh"
# (keyword index and dense mirror), "cleanup" (old vectors), "stopping" (asked to stop).
Progress = Callable[[str, int, int], None]


@dataclass
class IngestReport:
    """What an ingest did, in the shape `assistant ingest --json` prints."""

    added: int = 0
    updated: int = 0
    removed: int = 0
    unchanged: int = 0
    failed: list[dict] = field(default_factory=list)  # [{"source", "reason"}]
    skipped: list[dict] = field(default_factory=list)  # [{"source", "reason"}] unsupported types
    chunks: int = 0  # chunks of the documents added or updated in this run
    embedded: int = 0  # of those, how many needed a new embedding
    reanalysed: int = 0  # chunks whose keyword terms an older analyzer wrote, re-analysed (not re-embedded)
    duplicates: list[dict] = field(default_factory=list)  # [{"source", "duplicate_of"}] stored once
    near_duplicates: list[dict] = field(default_factory=list)  # [{"a", "b", "similarity"}] found this run
    total_documents: int = 0
    total_chunks: int = 0
    seconds: float = 0.0
    commits: int = 0  # atomic commits this run made (a long run commits its finished documents in batches)
    interrupted: bool = False  # stopped early: what it finished is kept, `remaining` files wait for the next run
    remaining: int = 0

    def to_json(self) -> dict:
        """The JSON object of the CLI contract (plus a few extra keys)."""
        out = asdict(self)
        out["failed"] = [{"source": f["source"], "reason": f["reason"]} for f in self.failed]
        return out


@dataclass
class _Pending:
    path: Path
    source: str
    content_hash: str
    meta: dict
    existing: DocumentRecord | None  # the document this file was, if any
    alias: dict | None = None  # the alias record this file was, if any


def _fault(point: str) -> None:
    """Crash-test hook: ASSISTANT_FAULT=<point> kills the process right here (as SIGKILL would); stop:<point> freezes it."""
    fault = os.environ.get("ASSISTANT_FAULT")
    if fault == point:
        os.kill(os.getpid(), signal.SIGKILL)
    elif fault == f"stop:{point}":  # as if the machine hung: the test sends SIGCONT (or kills it)
        os.kill(os.getpid(), signal.SIGSTOP)


def _slug(name: str) -> str:
    s = re.sub(r"[^\w.-]+", "-", name.strip().lower(), flags=re.UNICODE).strip("-.")
    return s or "document"


def _display_source(path: Path) -> str:
    """The path relative to the working folder when it lies under it (string work: called per file)."""
    s, cwd = str(path), os.getcwd()
    prefix = cwd if cwd.endswith(os.sep) else cwd + os.sep
    return s[len(prefix):] if s.startswith(prefix) else s


def discover(paths: Sequence[Path]) -> tuple[list[Path], list[dict], list[Path], list[dict]]:
    """Files to ingest, files skipped (unsupported type), folders walked, and files that cannot be read.

    Skipped and failed entries are {"source", "reason", "path"}.
    """
    files: list[Path] = []
    skipped: list[dict] = []
    failed: list[dict] = []
    folders: list[Path] = []
    seen: set[Path] = set()
    for p in paths:
        if not p.exists() and not p.is_symlink():
            raise AssistantError(f"{p}: no such file or folder")
        if p.is_dir():
            folders.append(p.absolute())
            for root, dirs, names in os.walk(p, followlinks=False):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                for n in sorted(names):
                    if n.startswith(".") or n in METADATA_FILES:
                        continue
                    _consider(Path(root) / n, files, skipped, failed, seen)
        else:
            _consider(p, files, skipped, failed, seen)
    return files, skipped, folders, failed


def _consider(fp: Path, files: list[Path], skipped: list[dict], failed: list[dict], seen: set[Path]) -> None:
    ab = fp.absolute()
    supported = fp.suffix.lower() in SUPPORTED_EXTS
    entry = {"source": _display_source(ab), "path": str(ab)}
    try:
        real = fp.resolve(strict=True)
    except RuntimeError:
        (failed if supported else skipped).append({**entry, "reason": "symbolic link loop"})
        return
    except OSError as exc:
        loop = getattr(exc, "errno", None) == 40  # ELOOP
        reason = "symbolic link loop" if loop else "broken symbolic link (its target does not exist)"
        (failed if supported else skipped).append({**entry, "reason": reason})
        return
    if real in seen:
        return
    seen.add(real)
    if not supported:
        skipped.append({**entry, "reason": f"unsupported file type '{fp.suffix or '(none)'}'"})
        return
    if not real.is_file():
        failed.append({**entry, "reason": "not a regular file"})
        return
    files.append(ab)


def read_sidecar(folder: Path) -> dict:
    """The metadata.yaml of a folder: file name → metadata, or {} when there is none."""
    for name in METADATA_FILES:
        p = folder / name
        if p.exists():
            import yaml

            try:
                data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
            except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
                raise AssistantError(f"{p}: invalid metadata file ({str(exc).splitlines()[0]})") from None
            if not isinstance(data, dict):
                raise AssistantError(f"{p}: metadata file must map file names to fields")
            return {str(k): v for k, v in data.items()}  # each entry is checked with its file (metadata_problem)
    return {}


METADATA_FIELDS = ("title", "type", "language", "date", "publisher")


def metadata_problem(entry: object) -> str | None:
    """What is wrong with one file's metadata.yaml entry, or None when it can be used (empty values are no values)."""
    if entry is None:
        return None
    if not isinstance(entry, dict):
        return f"must map field names to values, not a {type(entry).__name__} ({str(entry)[:40]!r})"
    unknown = sorted(repr(str(k)) for k in entry if k not in METADATA_FIELDS)
    if unknown:
        return f"unknown field {', '.join(unknown)} (the fields are {', '.join(METADATA_FIELDS)})"
    for key, value in entry.items():
        if value is not None and not isinstance(value, (str, int, float, datetime.date)):
            return f"{key} must be a single value, not {type(value).__name__}"
    lang = entry.get("language")
    if lang not in (None, "") and str(lang) not in LANGUAGES:
        return f"language {lang!r} is not one of {', '.join(LANGUAGES)}"
    date = entry.get("date")
    if isinstance(date, datetime.datetime):
        date = date.date()
    if date not in (None, "") and not is_date(str(date)):
        return f"date {str(date)!r} is not a real date written YYYY, YYYY-MM or YYYY-MM-DD"
    return None


def _entry(entry: dict | None) -> dict:
    """A checked metadata entry as ingest uses it: none is {}, a date with a time of day is its date."""
    if not entry:
        return {}
    date = entry.get("date")
    return {**entry, "date": date.date()} if isinstance(date, datetime.datetime) else entry


def _reason(exc: AssistantError, source: str, path: Path) -> str:
    msg = " ".join(str(exc).split())  # one line
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


# --- duplicates and near-duplicates ------------------------------------------------------------

_rng = np.random.default_rng(20240607)
_MH_MASK = _rng.integers(0, 2**63 - 1, size=MINHASH_PERMS, dtype=np.uint64)
_MH_MULT = _rng.integers(0, 2**63 - 1, size=MINHASH_PERMS, dtype=np.uint64) | np.uint64(1)


def text_hash(text: str) -> str:
    """The hash that makes two files 'the same text'."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def shingles(text: str, n: int = SHINGLE_WORDS) -> np.ndarray:
    """The sorted, unique 32-bit hashes of the word n-grams of a text (first SHINGLE_MAX_CHARS characters)."""
    words = re.findall(r"\w+", text[:SHINGLE_MAX_CHARS].lower())
    if not words:
        return np.zeros(0, dtype=np.uint64)
    grams = [" ".join(words)] if len(words) < n else (" ".join(words[i : i + n]) for i in range(len(words) - n + 1))
    return np.unique(np.fromiter((zlib.crc32(g.encode("utf-8")) for g in grams), dtype=np.uint64))


def minhash(sh: np.ndarray) -> np.ndarray:
    """A MinHash signature of a shingle set: matching positions estimate the Jaccard similarity."""
    sig = np.full(MINHASH_PERMS, np.iinfo(np.uint64).max, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for b in range(0, len(sh), 8192):
            block = sh[b : b + 8192, None]
            sig = np.minimum(sig, (((block ^ _MH_MASK) * _MH_MULT) >> np.uint64(16)).min(axis=0))
    return sig


def jaccard(a: np.ndarray, b: np.ndarray) -> float:
    """Jaccard similarity of two sorted unique shingle arrays."""
    if not len(a) and not len(b):
        return 1.0
    inter = len(np.intersect1d(a, b, assume_unique=True))
    return inter / (len(a) + len(b) - inter)


# --- the ingest --------------------------------------------------------------------------------


class _Run:
    """The state of one ingest run."""

    def __init__(self, index: Index, settings: Settings, report: IngestReport, full: bool, progress: Progress | None):
        self.index = index
        self.m = index.manifest
        self.spec, self.runtime = settings.embed_model, settings.embed_runtime
        self.model_name = canonical_model_name(settings.embed_model)
        self.report = report
        self.full = full
        self.progress = progress
        self.taken: set[str] = set()
        self.holders: dict[str, tuple[str, str]] = {}  # text hash → (doc_id, source) of the stored copy
        self.new_aliases: list[dict] = []
        self.docs_to_remove: list[str] = []
        self.aliases_to_remove: list[str] = []
        self.new_sigs: list[tuple[str, np.ndarray]] = []
        self.backfill: list[tuple[str, str, bytes]] = []
        self.staged = 0
        self.cache: dict[str, np.ndarray] = {}
        self.chunks_seen = 0
        self.stable_sigs: dict[str, np.ndarray] = {}
        self.old_fps: dict[str, tuple[str, bytes]] = {}
        self.sources: dict[str, str] = {}
        self.queue: list[tuple[str, np.ndarray, dict]] = []  # vectors waiting for one Chroma upsert
        self.to_embed: list[tuple[str, str, dict]] = []  # (chunk id, text, metadata) across documents
        self.last_flush = time.monotonic()
        vectors_model = self.m.get_meta("vectors_model") or index.model
        self.reuse_vectors = not full and vectors_model == self.model_name
        self.vectors_model_set = vectors_model == self.model_name
        self.written: set[str] = set()  # chunk ids whose vectors this run wrote to Chroma
        # A run that wrote vectors and did not finish leaves this mark: the next run then compares every
        # vector in Chroma with the manifest. Otherwise only this run's old and new chunk ids are checked.
        self.sweep_all = full or self.m.get_meta(PENDING_META) != "0"  # no mark yet: sweep once
        self.replaced: set[str] = set()  # chunk ids whose documents this run's commits replaced or removed
        self.since_commit = 0  # documents finished since the last commit
        self.last_commit = time.monotonic()


def ingest(
    paths: Sequence[Path],
    settings: Settings,
    full: bool = False,
    progress: Progress | None = None,
    stop: Callable[[], bool] | None = None,
    commit_documents: int = COMMIT_DOCUMENTS,
    commit_seconds: float = COMMIT_SECONDS,
) -> IngestReport:
    """Bring the index in step with the given files and folders; only what changed is embedded.

    `full` reloads, re-chunks and re-embeds every file and drops documents that are not among them.
    Finished documents are committed every `commit_documents` documents or `commit_seconds` seconds;
    when `stop()` turns true the run commits what it finished and returns with `interrupted` set.
    """
    t0 = time.perf_counter()
    report = IngestReport()
    model_name = canonical_model_name(settings.embed_model)
    index = open_index(settings, create=True)
    index.vectors.bind_model(settings.embed_model)
    try:
        with index.writer_lock(), _team_writer(index):
            if full and index.model not in (None, model_name):
                _wipe(index)  # switching models: old vectors cannot stay beside new ones
            index.check_model(model_name)
            report.reanalysed = _reanalyse(index)
            run = _Run(index, settings, report, full, progress)
            if index.team is not None and index.team.took_over:
                run.sweep_all = True  # the last writer died holding the lease: its vectors may be anywhere
            files, skipped, folders, failed = discover(paths)
            report.skipped = skipped
            report.failed = failed
            pending, removed_docs, removed_aliases = _plan(run, files, folders)
            run.m.start_staging()
            done = _prepare_all(run, pending, stop, commit_documents, commit_seconds)
            if done < len(pending):
                report.interrupted, report.remaining = True, len(pending) - done
                removed_docs, removed_aliases = [], []  # left for the next run, with the files not read yet
            if _commit(run, removed_docs, removed_aliases):
                report.removed = len(removed_docs) + len(removed_aliases)
            elif not report.commits and (_keyword_lags(index) or _hubness_missing(index)):
                index.refresh_derived()  # a previous run was killed between its commit and this step, or older files
            _step(run, "cleanup")
            _collect_garbage(index, None if run.sweep_all else run.replaced | run.written)
            if index.manifest.get_meta(PENDING_META) != "0":
                index.manifest.set_meta(PENDING_META, "0")
    finally:
        report.total_documents, report.total_chunks = index.manifest.counts()
        index.close()
    report.seconds = round(time.perf_counter() - t0, 3)
    return report


@contextmanager
def _team_writer(index: Index) -> Iterator[None]:
    """For a team server's cache: hold the lease, catch the cache up to head and clean what killed writers left."""
    team = index.team
    if team is None:
        yield
        return
    team.acquire()
    try:
        _fault("after-lease")
        team.sync(index)
        team.renew(force=True)  # still ours (a writer frozen past its lease must not clean up after the next one)
        team.cleanup(index)
        yield
    except BaseException:
        try:
            team.release()
        except AssistantError:  # the server is gone too: the lease expires by itself
            pass
        raise
    team.release()


def _step(run: _Run, phase: str) -> None:
    if run.progress:
        run.progress(phase, 0, 0)


def _commit(run: _Run, removed_docs: Sequence[DocumentRecord] = (), removed_aliases: Sequence[dict] = ()) -> bool:
    """Commit the finished (staged) documents, and these removals, in one transaction; False when nothing changed.

    The vectors go to Chroma first; then the manifest changes at once; then the keyword index and the
    dense mirror follow the new generation. The stage is emptied for the next batch.
    """
    index, m = run.index, run.m
    _embed_buffered(run)
    _flush(run)
    _fault("after-vectors")
    if not (run.staged or removed_docs or removed_aliases or run.new_aliases or run.docs_to_remove
            or run.aliases_to_remove or run.backfill):
        return False
    _step(run, "commit")
    near = _near_duplicates(run)
    gone = [*(d.doc_id for d in removed_docs), *run.docs_to_remove]
    replaced = m.chunk_ids_replaced(gone)
    written, since = m.staged_doc_ids(), m.generation  # what the keyword index must re-read
    with index.transaction():  # a team cache: the server's commit first (stores/server.py)
        for doc_id in gone:
            m.remove_document(doc_id)
        for path in [*(a["path"] for a in removed_aliases), *run.aliases_to_remove]:
            m.remove_alias(path)
        m.commit_staged()
        for doc_id, th, sig in run.backfill:
            m.put_fingerprint(doc_id, th, sig)
        for a in run.new_aliases:
            m.put_alias(a["path"], a["source"], a["doc_id"], a["content_hash"])
        for a, b, sim in near:
            m.put_near_duplicate(a, b, sim)
        if run.staged and index.model is None:
            m.set_meta("model", run.model_name)
            m.set_meta("dim", get_embedder(run.spec, run.runtime, bulk=True).dim)
        m.set_meta("generation", m.generation + 1)
        m.set_meta("last_ingest", now_iso())
        m.set_meta("schema", 1)
        if replaced:  # their vectors go after the commit: a kill in between must not forget them
            m.set_meta(PENDING_META, "1")
        _fault("in-commit")
    run.report.commits += 1
    run.replaced |= replaced
    # The next batch starts from here: what was committed is now a stable document like any other.
    m.start_staging()
    run.stable_sigs.update(run.new_sigs)
    run.new_sigs, run.new_aliases, run.backfill = [], [], []
    run.docs_to_remove, run.aliases_to_remove = [], []
    run.staged, run.since_commit, run.last_commit = 0, 0, time.monotonic()
    _fault("after-commit")
    _step(run, "refresh")
    index.refresh_derived(written, since)
    _fault("after-refresh")
    return True


def _plan(run: _Run, files: list[Path], folders: list[Path]) -> tuple[list[_Pending], list[DocumentRecord], list[dict]]:
    """Which files changed (by content hash), which documents and duplicate files left."""
    m, report = run.m, run.report
    by_path = {d.path: d for d in m.documents()}
    aliases = m.aliases()
    sidecars: dict[Path, dict] = {}
    pending: list[_Pending] = []
    kept_aliases: list[tuple[_Pending, dict]] = []
    seen: set[str] = set()
    for i, fp in enumerate(files):
        if run.progress and i % 50 == 0:
            run.progress("check", i, len(files))
        source = _display_source(fp)
        seen.add(str(fp))
        if fp.parent not in sidecars:
            sidecars[fp.parent] = read_sidecar(fp.parent)
        entry = sidecars[fp.parent].get(fp.name)
        problem = metadata_problem(entry)
        if problem:  # fails this file only; an indexed version of it stays as it was
            report.failed.append({"source": source, "reason": f"its metadata.yaml entry: {problem}", "path": str(fp)})
            continue
        meta = _entry(entry)
        try:
            h = hash_file(fp, _meta_bytes(meta))
        except LoadError as exc:
            report.failed.append({"source": source, "reason": _reason(exc, source, fp), "path": str(fp)})
            continue
        existing = by_path.get(str(fp))
        alias = aliases.get(str(fp))
        p = _Pending(fp, source, h, meta, existing, alias)
        if existing is not None and existing.content_hash == h and not run.full:
            report.unchanged += 1
        elif alias is not None and alias["content_hash"] == h and not run.full:
            kept_aliases.append((p, alias))
        else:
            pending.append(p)
    if run.progress and files:
        run.progress("check", len(files), len(files))
    failed_paths = {f["path"] for f in report.failed}

    def gone(path: str) -> bool:
        if path in seen or path in failed_paths:
            return False  # a file that failed to read this time keeps its old version
        return run.full or any(_under(Path(path), f) for f in folders)

    removed_docs = [d for d in by_path.values() if gone(d.path)]
    removed_aliases = [a for a in aliases.values() if gone(a["path"])]
    changing = {p.existing.doc_id for p in pending if p.existing} | {d.doc_id for d in removed_docs}
    # Stored copies that stay as they are: duplicates of them are found by text hash.
    fps = m.fingerprints()
    for d in by_path.values():
        if d.doc_id in changing:
            continue
        if d.doc_id not in fps:  # an index from before fingerprints: compute them once
            text = m.document_text(d.doc_id) or ""
            fps[d.doc_id] = (text_hash(text), minhash(shingles(text)).tobytes())
            run.backfill.append((d.doc_id, *fps[d.doc_id]))
        run.holders.setdefault(fps[d.doc_id][0], (d.doc_id, d.source))
    doc_ids = {d.doc_id for d in by_path.values()}
    run.stable_sigs = {d: np.frombuffer(fps[d][1], dtype=np.uint64) for d in fps if d in doc_ids and d not in changing}
    run.old_fps = fps
    run.sources = {d.doc_id: d.source for d in by_path.values()}
    late: list[_Pending] = []
    for p, alias in kept_aliases:
        if alias["doc_id"] in changing:
            late.append(p)  # its stored copy changes or leaves: look at this file again
        else:
            report.unchanged += 1
    return pending + late, removed_docs, removed_aliases


def _under(path: Path, folder: Path) -> bool:
    try:
        path.relative_to(folder)
        return True
    except ValueError:
        return False


# Bumped whenever loading or chunking would make another canonical text or other chunks of the same file:
# it is hashed with every file, so the next ingest re-reads every file and re-embeds only the chunks whose
# text changed (a chunk's id is a hash of its text). 2: markup lines dropped, sentences split across wraps.
TEXT_VERSION = "3"  # 3: PDF tables as rows with cells apart, titles, OCR of scanned pages


def _meta_bytes(meta: dict) -> bytes:
    """A file's metadata entry, and the text version, as hashed with its bytes (planning and loading must agree)."""
    if not meta:
        return f"text {TEXT_VERSION}".encode()
    return json.dumps({**meta, "__text__": TEXT_VERSION}, sort_keys=True, default=str).encode()


def chunk_terms(title: str, text: str, language: str) -> str:
    """A chunk's stored keyword terms: its document's title and its text, analysed in the document's language."""
    return " ".join(analyze(title + "\n" + text, language))


def _reanalyse(index: Index) -> int:
    """Re-analyse every chunk's keyword terms if another analyzer version wrote them; returns how many.

    Nothing is re-embedded. The generation moves on, so the keyword index is rebuilt from the new terms
    by this ingest (or, after a kill, by the next one).
    """
    m = index.manifest
    if m.get_meta("analyzer") == ANALYZER_VERSION:
        return 0
    with m.transaction():
        n = m.rewrite_terms(chunk_terms)
        m.set_meta("analyzer", ANALYZER_VERSION)
        if n:
            m.set_meta("generation", m.generation + 1)
        _fault("in-reanalysis")
    _fault("after-reanalysis")
    return n


def _keyword_lags(index: Index) -> bool:
    return KeywordIndex.saved_generation(index.dir / KEYWORD_DIR) != index.manifest.generation


def _hubness_missing(index: Index) -> bool:
    """Whether the local dense mirror predates hubness (written before it was kept): the next ingest adds it."""
    mirror = index.dir / DENSE_DIR
    return (not index.vectors.url or index.team is not None) and (mirror / "meta.json").exists() and not (mirror / "hub.npy").exists()


def _wipe(index: Index) -> None:
    """Forget everything, model included (for --full with another model)."""
    with index.manifest.transaction() as db:
        db.execute("DELETE FROM documents")
        db.execute("DELETE FROM aliases")
        db.execute("DELETE FROM meta WHERE key IN ('model', 'dim', 'vectors_model')")
        index.manifest.set_meta("generation", index.manifest.generation + 1)
        index.manifest.set_meta(PENDING_META, "1")  # the old vectors go next: a kill in between must not keep them
    index.vectors.drop()  # whatever a failed drop leaves, this --full run's full sweep deletes


def _doc_id(run: _Run, p: _Pending) -> str:
    if p.existing is not None:
        return p.existing.doc_id
    base = _slug(p.path.stem)
    cand = base
    if cand in run.taken or run.m.document(cand) is not None:
        cand = f"{base}-{hashlib.sha1(str(p.path).encode()).hexdigest()[:6]}"
    return cand


def _fail(run: _Run, p: _Pending, reason: str) -> None:
    run.report.failed.append({"source": p.source, "reason": reason, "path": str(p.path)})
    if p.existing is not None and p.existing.doc_id in run.old_fps:  # it keeps its old version
        run.holders.setdefault(run.old_fps[p.existing.doc_id][0], (p.existing.doc_id, p.existing.source))


def _prepare_all(
    run: _Run, pending: list[_Pending], stop: Callable[[], bool] | None = None,
    commit_documents: int = COMMIT_DOCUMENTS, commit_seconds: float = COMMIT_SECONDS,
) -> int:
    """Load, dedupe, chunk and embed each pending file in turn, staging it; commit in batches; returns how many were done.

    Stops early (before the next file) when `stop()` is true; what was staged is committed by the caller.
    """
    for n, p in enumerate(pending):
        if stop is not None and stop():
            _step(run, "stopping")
            return n
        if run.progress:
            run.progress("load", n, len(pending))
        try:
            data = read_bytes(p.path)
            loaded = load_document(p.path, data)
        except LoadError as exc:
            _fail(run, p, _reason(exc, p.source, p.path))
            continue
        except Exception as exc:  # a parser bug must not stop the other files
            _fail(run, p, " ".join(f"could not be read: the reader for this file type failed ({exc})".split())[:200])
            continue
        p.content_hash = file_hash(data, _meta_bytes(p.meta))
        size = len(data)
        del data
        th = text_hash(loaded.text)
        holder = run.holders.get(th)
        own_id = p.existing.doc_id if p.existing else None
        if holder is not None and holder[0] != own_id:
            _stage_alias(run, p, holder)
        else:
            _stage_document(run, p, loaded, th, size)
        run.since_commit += 1
        if run.since_commit >= commit_documents or time.monotonic() - run.last_commit >= commit_seconds:
            _commit(run)
            if run.progress:
                run.progress("load", n + 1, len(pending))
    if run.progress and pending:
        run.progress("load", len(pending), len(pending))
    return len(pending)


def _stage_alias(run: _Run, p: _Pending, holder: tuple[str, str]) -> None:
    report = run.report
    run.new_aliases.append({"path": str(p.path), "source": p.source, "doc_id": holder[0], "content_hash": p.content_hash})
    report.duplicates.append({"source": p.source, "duplicate_of": holder[1]})
    if p.existing is not None:
        run.docs_to_remove.append(p.existing.doc_id)  # it was a document; now its text is stored elsewhere
        report.updated += 1
    elif p.alias is not None:
        if p.alias["doc_id"] == holder[0] and p.alias["content_hash"] == p.content_hash:
            report.unchanged += 1
        else:
            report.updated += 1
    else:
        report.added += 1


def _stage_document(run: _Run, p: _Pending, loaded, th: str, size: int) -> None:
    report, meta = run.report, p.meta
    doc_id = _doc_id(run, p)
    run.taken.add(doc_id)
    language = str(meta.get("language") or detect_language(loaded.text))
    title = str(meta.get("title") or loaded.title or p.path.stem)
    date = str(meta["date"]) if meta.get("date") else None
    doc = DocumentRecord(
        doc_id=doc_id, path=str(p.path), source=p.source, content_hash=p.content_hash, title=title,
        type=meta.get("type"), language=language, date=date, publisher=meta.get("publisher"),
        text=loaded.text, page_starts=loaded.page_starts, n_chunks=0,
        size=size, mtime=_mtime(p.path), ingested_at=now_iso(), ocr=bool(loaded.meta.get("ocr")),
    )
    md = {"doc_id": doc_id, "lang": language, "type": doc.type or "", "date": date_key(date), "source": p.source}
    seen_ids: set[str] = set()
    n_chunks = 0
    pieces = chunk_text(loaded.text, loaded.page_starts)
    # Batch by batch: keyword terms, vectors to Chroma, rows to the staging tables (memory stays bounded).
    for b in range(0, len(pieces), EMBED_BATCH):
        batch: list[ChunkRecord] = []
        for c in pieces[b : b + EMBED_BATCH]:
            cid = chunk_id(doc_id, title, c.text)
            if cid in seen_ids:
                cid = f"{cid}-{c.seq}"
            seen_ids.add(cid)
            terms = chunk_terms(title, c.text, language)
            batch.append(ChunkRecord(cid, doc_id, c.seq, c.page, c.page_end, c.start, c.end, c.text, terms))
        _embed(run, batch, title, md)
        run.m.stage_chunks(doc_id, batch)
        n_chunks += len(batch)
    del pieces
    doc.n_chunks = n_chunks
    sig = minhash(shingles(loaded.text))
    run.m.stage_document(doc, n_chunks, th, sig.tobytes())
    run.staged += 1
    run.holders[th] = (doc_id, p.source)
    run.new_sigs.append((doc_id, sig))
    run.sources[doc_id] = p.source
    if p.alias is not None:
        run.aliases_to_remove.append(str(p.path))
    if p.existing is None and p.alias is None:
        report.added += 1
    else:
        report.updated += 1
    report.chunks += n_chunks


def _embed(run: _Run, chunks: list[ChunkRecord], title: str, md: dict) -> None:
    """Queue some chunks of one document for embedding; full batches are embedded across documents."""
    run.to_embed.extend((c.id, embed_text(title, c.text), md) for c in chunks)
    if len(run.to_embed) >= EMBED_BATCH:
        _embed_buffered(run)
    run.chunks_seen += len(chunks)
    if run.progress:
        run.progress("embed", run.chunks_seen, run.chunks_seen)


def _embed_buffered(run: _Run) -> None:
    """Vectors for the queued chunks, in one model call, queued for Chroma (see _flush).

    A chunk whose id Chroma already holds (unchanged text, or written by a run that was killed) keeps
    its vector; identical texts within the run are embedded once. Batching across documents keeps the
    embedder's batches full when documents are short (press releases are two or three chunks).
    """
    if not run.to_embed:
        return
    items, run.to_embed = run.to_embed, []
    ids = [cid for cid, _, _ in items]
    vecs: dict[str, np.ndarray] = run.index.vectors.get_vectors(ids) if run.reuse_vectors else {}
    texts: dict[str, str] = {}
    for cid, text, _ in items:
        if cid in vecs:
            continue
        if text in run.cache:
            vecs[cid] = run.cache.pop(text)
            run.cache[text] = vecs[cid]  # most recently used last
        else:
            texts[cid] = text
    if texts:
        todo = list(dict.fromkeys(texts.values()))
        if not run.report.embedded:
            _step(run, "model")  # the first call loads the model (a second or two)
        fresh = dict(zip(todo, get_embedder(run.spec, run.runtime, bulk=True).embed_passages(todo)))
        run.report.embedded += len(todo)
        for cid, t in texts.items():
            vecs[cid] = fresh[t]
        for t, v in fresh.items():
            run.cache[t] = v
            if len(run.cache) > EMBED_CACHE:
                run.cache.pop(next(iter(run.cache)))
    for cid, _, md in items:
        run.queue.append((cid, vecs[cid], md))
    if len(run.queue) >= UPSERT_BATCH or time.monotonic() - run.last_flush > FLUSH_SECONDS:
        _flush(run)  # so a run that is killed leaves its vectors for the next run to reuse


def _flush(run: _Run) -> None:
    """Write the queued vectors to Chroma (in large batches: Chroma's cost is mostly per call)."""
    if not run.queue:
        return
    if not run.vectors_model_set:
        run.m.set_meta("vectors_model", run.model_name)  # the vectors in Chroma come from this model
        run.vectors_model_set = True
    if run.index.team is not None:
        run.index.team.renew()  # the writer's lease on the team server, at most every quarter lease
    ids = [q[0] for q in run.queue]
    if not run.written:
        run.m.set_meta(PENDING_META, "1")  # before the first write: a kill from here on leaves garbage
    run.index.vectors.upsert(ids, np.stack([q[1] for q in run.queue]), [q[2] for q in run.queue])
    run.written.update(ids)
    run.queue = []
    run.last_flush = time.monotonic()


def _near_duplicates(run: _Run) -> list[tuple[str, str, float]]:
    """Pairs (new or changed document, any document) whose texts are near-duplicates."""
    out: list[tuple[str, str, float]] = []
    if not run.new_sigs:
        return out
    others = list(run.stable_sigs.items())
    shingle_cache: dict[str, np.ndarray] = {}

    def sh(doc_id: str) -> np.ndarray:
        if doc_id not in shingle_cache:
            text = run.m.staged_text(doc_id)
            if text is None:
                text = run.m.document_text(doc_id) or ""
            shingle_cache[doc_id] = shingles(text)
        return shingle_cache[doc_id]

    # Locality-sensitive hashing: signatures that agree on a whole band of rows become candidates, so
    # each new document is compared with a handful of others instead of all of them (linear, not
    # quadratic). 16 bands of 4 rows catch a pair of Jaccard 0.8 with probability 0.9998.
    buckets: dict[tuple[int, bytes], list[int]] = {}
    sigs: list[tuple[str, np.ndarray]] = []

    def add(doc_id: str, sig: np.ndarray) -> set[int]:
        cands: set[int] = set()
        for band in range(LSH_BANDS):
            key = (band, sig[band * LSH_ROWS : (band + 1) * LSH_ROWS].tobytes())
            bucket = buckets.setdefault(key, [])
            cands.update(bucket)
            bucket.append(len(sigs))
        sigs.append((doc_id, sig))
        return cands

    for doc_id, sig in others:
        add(doc_id, sig)
    for doc_id, sig in run.new_sigs:
        for j in sorted(add(doc_id, sig)):
            other, osig = sigs[j]
            if other == doc_id or (osig == sig).mean() < NEAR_DUPLICATE - 0.2:
                continue
            sim = jaccard(sh(doc_id), sh(other))
            if sim >= NEAR_DUPLICATE:
                out.append((doc_id, other, round(sim, 4)))
                run.report.near_duplicates.append(
                    {"a": run.sources.get(doc_id, doc_id), "b": run.sources.get(other, other), "similarity": round(sim, 3)}
                )
    return out


def _mtime(path: Path) -> float | None:
    try:
        return path.stat().st_mtime
    except OSError:
        return None


def _collect_garbage(index: Index, candidates: set[str] | None = None) -> None:
    """Delete vectors the manifest no longer refers to: among `candidates`, or all of Chroma's when None."""
    if candidates is None:
        stale = index.vectors.all_ids() - index.manifest.chunk_ids()
    else:
        stale = candidates - index.manifest.known_chunk_ids(candidates)
    if stale:
        index.vectors.delete(stale)


def remove_paths(paths: Iterable[Path], settings: Settings) -> int:
    """Remove the documents (and duplicate files) at the given paths, under the given folders, or with the given ids."""
    index = open_index(settings, create=settings.team_mode)
    try:
        with index.writer_lock(), _team_writer(index):
            targets = [p.absolute() for p in paths]

            def hit(path: str, source: str) -> bool:
                return any(Path(path) == t or _under(Path(path), t) or source == str(t) for t in targets)

            ids = {str(p) for p in paths}
            docs = [d for d in index.manifest.documents() if hit(d.path, d.source) or d.doc_id in ids]
            aliases = [a for a in index.manifest.aliases().values() if hit(a["path"], a["source"])]
            if not docs and not aliases:
                return 0
            since = index.manifest.generation
            with index.transaction():
                for d in docs:
                    index.manifest.remove_document(d.doc_id)
                for a in aliases:
                    index.manifest.remove_alias(a["path"])
                index.manifest.set_meta("generation", index.manifest.generation + 1)
                index.manifest.set_meta("last_ingest", now_iso())
                index.manifest.set_meta(PENDING_META, "1")  # until their vectors are gone
            index.refresh_derived(set(), since)
            _collect_garbage(index)
            index.manifest.set_meta(PENDING_META, "0")
            return len(docs) + len(aliases)
    finally:
        index.close()
