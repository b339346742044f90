"""The library's front door: open an index and get a retriever or an answerer for it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from .answering import Answerer
from .config import Settings
from .retrieval import Retriever
from .stores import open_index


@contextmanager
def open_retriever(settings: Settings) -> Iterator[Retriever]:
    """A retriever over the configured index, closed afterwards."""
    index = open_index(settings)
    try:
        yield Retriever(index, settings.embed_model, runtime=settings.embed_runtime)
    finally:
        index.close()


@contextmanager
def open_answerer(settings: Settings, llm: bool | None = None) -> Iterator[Answerer]:
    """An answerer (extractive, or LLM-backed when enabled) over the configured index."""
    with open_retriever(settings) as retriever:
        use_llm = settings.llm.enabled if llm is None else llm
        if use_llm:
            from .llm import LLMAnswerer

            yield LLMAnswerer(retriever, settings.llm)
        else:
            yield Answerer(retriever)
