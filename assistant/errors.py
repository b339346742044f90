"""Errors a user sees as one line, with the exit code each stands for."""

from __future__ import annotations

# Exit codes (documented in the README):
EXIT_OK = 0
EXIT_ERROR = 1  # a general failure: bad configuration, unreadable input
EXIT_USAGE = 2  # bad arguments (Typer/click uses 2 as well)
EXIT_PARTIAL = 3  # ingest finished, but some files failed
EXIT_NO_INDEX = 4  # the index is missing, empty or built with another model
EXIT_LOCKED = 5  # another ingest holds the index lock
EXIT_INTERRUPTED = 130  # Ctrl-C: a long ingest keeps the documents it finished


class AssistantError(Exception):
    """An error with a one-line message meant for the user and an exit code."""

    exit_code = EXIT_ERROR

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class LoadError(AssistantError):
    """A document could not be read or holds no text."""


class IndexMissingError(AssistantError):
    """The index does not exist or holds no documents."""

    exit_code = EXIT_NO_INDEX


class ModelMismatchError(AssistantError):
    """The index was built with another embedding model than the configured one."""

    exit_code = EXIT_NO_INDEX


class IndexLockedError(AssistantError):
    """Another process is writing the index."""

    exit_code = EXIT_LOCKED


class QuestionError(AssistantError):
    """The question cannot be asked as given (empty, too long)."""

    exit_code = EXIT_USAGE
