"""The `local` LLM provider: a GGUF model run in this process by llama.cpp (llama-cpp-python).

`LocalChatModel` is a small LangChain `BaseChatModel` over `llama_cpp.Llama`, so the answering code
(assistant/llm.py) streams from it exactly as from a server. The runtime is the optional extra
`local-llm`; the model is any GGUF file (`assistant llm setup` assembles a verified one). Nothing here
downloads anything. Loading checks the file first, so a missing, unreadable or non-GGUF file gives one
line naming the file and the reason.
"""

from __future__ import annotations

import importlib.util
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models.chat_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict, PrivateAttr

from .errors import AssistantError

RUNTIME_MODULE = "llama_cpp"  # from the PyPI package llama-cpp-python (the `local-llm` extra)
INSTALL_HINT = (
    'the local LLM provider needs the llama.cpp runtime: pip install -e ".[local-llm]" '
    "(or pip install llama-cpp-python==0.3.36; it compiles llama.cpp, about 3-5 minutes)"
)
GGUF_MAGIC = b"GGUF"

_loaded: dict[tuple, Any] = {}  # one llama.cpp model per (file, threads, context) in a process
_load_lock = threading.Lock()


def runtime_available() -> bool:
    """Whether the llama.cpp runtime (the `local-llm` extra) is installed."""
    return importlib.util.find_spec(RUNTIME_MODULE) is not None


def check_model_file(path: str | None) -> Path:
    """The model file, if it exists and starts like a GGUF file; else an error naming it and the reason."""
    if not path:
        raise AssistantError(
            "the local LLM provider needs a model file: set ASSISTANT_LLM_MODEL_PATH or model_path under [llm] "
            "(`assistant llm setup` makes one)"
        )
    p = Path(path).expanduser()
    if not p.exists():
        raise AssistantError(f"{p}: model file not found (`assistant llm setup` makes one)")
    if p.is_dir():
        raise AssistantError(f"{p}: is a folder, not a GGUF model file")
    try:
        with p.open("rb") as f:
            head = f.read(4)
    except OSError as exc:
        raise AssistantError(f"{p}: cannot read the model file ({exc.strerror or 'read error'})") from None
    if head != GGUF_MAGIC:
        raise AssistantError(f"{p}: not a GGUF model file (it does not start with the GGUF signature)")
    return p


def load_llama(path: str | None, threads: int, context_size: int) -> Any:
    """The llama.cpp model for a GGUF file, loaded once per process (an AssistantError when it cannot be)."""
    if not runtime_available():
        raise AssistantError(INSTALL_HINT)
    p = check_model_file(path)
    key = (str(p.resolve()), threads, context_size)
    with _load_lock:
        if key not in _loaded:
            from llama_cpp import Llama

            try:
                _loaded[key] = Llama(
                    model_path=str(p), n_ctx=context_size, n_threads=threads, n_threads_batch=threads,
                    n_batch=512, seed=0, verbose=False,
                )
            except (ValueError, RuntimeError, OSError):
                raise AssistantError(
                    f"{p}: llama.cpp could not load this model (a damaged or incomplete GGUF file, "
                    "or an architecture this runtime does not know)"
                ) from None
        return _loaded[key]


def _role(m: BaseMessage) -> str:
    return {"human": "user", "ai": "assistant", "system": "system"}.get(m.type, "user")


def _text(content: object) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(b if isinstance(b, str) else str(b.get("text", "")) for b in content
                       if isinstance(b, str) or isinstance(b, dict))
    return str(content)


class LocalChatModel(BaseChatModel):
    """A LangChain chat model over a llama.cpp model in this process (greedy by default: same answer each time)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    model_path: str
    threads: int = 2
    context_size: int = 4096
    temperature: float = 0.0
    max_tokens: int = 800
    repeat_penalty: float = 1.0  # 1.0: off, so names and numbers can be repeated exactly as the passages have them
    _llama: Any = PrivateAttr(default=None)
    last_stats: dict = {}  # the last call's prompt/completion tokens and timings (bench/llm_local.py reads it)

    def model_post_init(self, __context: Any) -> None:
        """Load the model now, so a bad file is reported before any question is asked."""
        self._llama = load_llama(self.model_path, self.threads, self.context_size)
        self.last_stats = {}

    @property
    def _llm_type(self) -> str:
        return "llama-cpp-local"

    @property
    def _identifying_params(self) -> dict[str, Any]:
        return {"model_path": self.model_path, "threads": self.threads, "context_size": self.context_size}

    def _params(self, stop: list[str] | None) -> dict[str, Any]:
        greedy = self.temperature <= 0
        return {
            "temperature": max(self.temperature, 0.0),
            "top_k": 1 if greedy else 40,
            "top_p": 1.0 if greedy else 0.95,
            "min_p": 0.0 if greedy else 0.05,
            "repeat_penalty": self.repeat_penalty,
            "max_tokens": self.max_tokens,
            "seed": 0,
            "stop": stop or [],
        }

    def _chunks(self, messages: list[BaseMessage], stop: list[str] | None) -> Iterator[str]:
        msgs = [{"role": _role(m), "content": _text(m.content)} for m in messages]
        started = time.perf_counter()
        first = None
        n = 0
        stream = self._llama.create_chat_completion(messages=msgs, stream=True, **self._params(stop))
        try:
            for chunk in stream:
                delta = chunk["choices"][0].get("delta") or {}
                piece = delta.get("content")
                if piece:
                    n += 1
                    if first is None:
                        first = time.perf_counter()
                    yield piece
        finally:
            close = getattr(stream, "close", None)
            if close is not None:
                close()
            end = time.perf_counter()
            self.last_stats = {
                "prompt_tokens": int(getattr(self._llama, "n_tokens", 0)) - n,
                "completion_tokens": n,
                "first_token_s": (first - started) if first else None,
                "generate_s": (end - first) if first else 0.0,
                "total_s": end - started,
            }

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        text = "".join(self._chunks(messages, stop))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=text))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for piece in self._chunks(messages, stop):
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager is not None:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk


def make_local_chat_model(model_path: str | None, threads: int, context_size: int, temperature: float,
                          max_tokens: int) -> LocalChatModel:
    """The in-process chat model for a GGUF file (loads it; AssistantError when the runtime or file is missing)."""
    if not runtime_available():
        raise AssistantError(INSTALL_HINT)
    p = check_model_file(model_path)
    return LocalChatModel(model_path=str(p), threads=threads, context_size=context_size,
                          temperature=temperature, max_tokens=max_tokens)
