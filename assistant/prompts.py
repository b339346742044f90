"""Prompt and label files from the prompts/ folder."""

from __future__ import annotations

import os
import tomllib
from functools import cache
from pathlib import Path


def prompts_dir() -> Path:
    """The prompts folder: $ASSISTANT_PROMPTS, or prompts/ beside the package."""
    env = os.environ.get("ASSISTANT_PROMPTS")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "prompts"


@cache
def labels(lang: str) -> dict[str, str]:
    """The fixed phrases and labels for a language (English for unknown ones)."""
    data = tomllib.loads((prompts_dir() / "labels.toml").read_text(encoding="utf-8"))
    return data.get(lang) or data["en"]


@cache
def prompt(name: str) -> str:
    """The text of prompts/<name>."""
    return (prompts_dir() / name).read_text(encoding="utf-8")
