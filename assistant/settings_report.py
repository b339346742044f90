"""Where each effective setting and every path the assistant reads or writes came from (`assistant config`)."""

from __future__ import annotations

import os
from pathlib import Path

from .config import load_settings


def describe_settings(index: Path | None, chroma_url: str | None, chroma_collection: str | None = None) -> dict:
    """The effective settings and paths with where each came from: {"config_file", "settings", "paths"}."""
    import tomllib

    import assistant

    from .chat import default_chat_db, history_file
    from .config import config_path
    from .e5_onnx import cache_dir
    from .history import default_history_db
    from .prompts import prompts_dir
    from .stores import CHROMA_DIR, DENSE_DIR, KEYWORD_DIR, LOCK_FILE, MANIFEST

    settings = load_settings().with_overrides(index_dir=index, chroma_url=chroma_url,
                                              chroma_collection=chroma_collection)  # its errors first
    env = os.environ
    cfg = config_path()
    data = tomllib.loads(cfg.read_text(encoding="utf-8")) if cfg is not None else {}
    cfg_name = cfg.expanduser().absolute() if cfg is not None else None
    xdg_config = "env XDG_CONFIG_HOME" if env.get("XDG_CONFIG_HOME") else "default (~/.config)"
    if cfg is None:
        cfg_source = "none found"
    elif env.get("ASSISTANT_CONFIG"):
        cfg_source = "env ASSISTANT_CONFIG"
    elif cfg == Path("assistant.toml"):
        cfg_source = "the working directory (./assistant.toml)"
    else:
        cfg_source = f"the user's config folder ({xdg_config})"

    def origin(env_name: str | None, section: str, key: str, flag: str | None = None, flag_value: object = None,
               default: str = "default") -> str:
        if flag is not None and flag_value is not None:
            return f"flag {flag}"
        if env_name and env.get(env_name):
            return f"env {env_name}"
        if isinstance(data.get(section), dict) and key in data[section]:
            return f"config file {cfg_name} [{section}] {key}"
        return default

    def entry(value: object, env_name: str | None, section: str, key: str, **kw: object) -> dict:
        return {"value": value, "source": origin(env_name, section, key, **kw), "env": env_name}

    llm = settings.llm
    base_url = llm.base_url or ("http://localhost:11434" if llm.provider == "ollama" else None)
    if env.get("ASSISTANT_LLM_API_KEY"):
        key_source = "env ASSISTANT_LLM_API_KEY"
    elif llm.api_key:
        key_source = f"config file {cfg_name} [llm] api_key_file ({data['llm']['api_key_file']})"
    else:
        key_source = "not set"
    data_default = "env XDG_DATA_HOME" if env.get("XDG_DATA_HOME") else "default (~/.local/share)"
    cache_default = "env XDG_CACHE_HOME" if env.get("XDG_CACHE_HOME") else "default (~/.cache)"
    chat_db = Path(settings.chat_db) if settings.chat_db else default_chat_db()
    history_db = Path(settings.history_db) if settings.history_db else default_history_db()
    s = {
        "index.path": entry(str(settings.index_dir), "ASSISTANT_INDEX", "index", "path", flag="--index", flag_value=index),
        "chroma.url": entry(settings.chroma_url, "ASSISTANT_CHROMA_URL", "chroma", "url", flag="--chroma-url", flag_value=chroma_url,
                            default="default (none: vectors are kept in the index folder)"),
        "chroma.collection": entry(settings.chroma_collection, "ASSISTANT_CHROMA_COLLECTION", "chroma", "collection",
                                   flag="--chroma-collection", flag_value=chroma_collection),
        "embedding.model": entry(settings.embed_model, "ASSISTANT_EMBED_MODEL", "embedding", "model"),
        "embedding.runtime": entry(settings.embed_runtime, "ASSISTANT_EMBED_RUNTIME", "embedding", "runtime"),
        "llm.enabled": entry(llm.enabled, None, "llm", "enabled"),
        "llm.provider": entry(llm.provider, "ASSISTANT_LLM_PROVIDER", "llm", "provider"),
        "llm.model": entry(llm.model, "ASSISTANT_LLM_MODEL", "llm", "model"),
        "llm.base_url": entry(base_url, "ASSISTANT_LLM_BASE_URL", "llm", "base_url"),
        "llm.api_key": {"set": bool(llm.api_key), "source": key_source, "env": "ASSISTANT_LLM_API_KEY"},
        "llm.timeout": entry(llm.timeout, "ASSISTANT_LLM_TIMEOUT", "llm", "timeout"),
        "llm.temperature": entry(llm.temperature, None, "llm", "temperature"),
        "llm.stream": entry(llm.stream, None, "llm", "stream"),
        "llm.model_path": entry(llm.model_path, "ASSISTANT_LLM_MODEL_PATH", "llm", "model_path",
                                default="default (none: `assistant llm setup` makes one)"),
        "llm.threads": entry(llm.threads, "ASSISTANT_LLM_THREADS", "llm", "threads",
                             default="default (the machine's cores, at most 4)"),
        "llm.context_size": entry(llm.context_size, "ASSISTANT_LLM_CONTEXT_SIZE", "llm", "context_size"),
        "chat.db": entry(str(chat_db), "ASSISTANT_CHAT_DB", "chat", "db", default=data_default),
        "history.enabled": entry(settings.history, "ASSISTANT_HISTORY", "history", "enabled"),
        "history.db": entry(str(history_db), "ASSISTANT_HISTORY_DB", "history", "db", default=data_default),
        "cache.dir": {"value": str(cache_dir()), "env": "ASSISTANT_CACHE_DIR",
                      "source": "env ASSISTANT_CACHE_DIR" if env.get("ASSISTANT_CACHE_DIR") else cache_default},
    }
    idx = settings.index_dir
    in_index = f"inside the index folder ({s['index.path']['source']})"
    paths = [
        ("config file", cfg, "read", cfg_source),
        ("index folder", idx, "read by ask, search, chat, eval; written by ingest and index", s["index.path"]["source"]),
        ("manifest", idx / MANIFEST, "read and written", in_index),
        ("keyword index", idx / KEYWORD_DIR, "read and written", in_index),
        ("dense mirror", idx / DENSE_DIR, "read and written", in_index),
        ("ingest lock", idx / LOCK_FILE, "written by ingest and index", in_index),
    ]
    if not settings.chroma_url:
        paths.append(("Chroma vectors", idx / CHROMA_DIR, "read and written", in_index))
    paths += [
        ("chat sessions", chat_db, "read and written by chat", s["chat.db"]["source"]),
        ("ask history", history_db, "written by ask (unless history is off), read by history", s["history.db"]["source"]),
        ("chat input history", history_file(), "read and written by chat at a terminal", data_default),
        ("model cache", cache_dir(), "written once, then read (the onnxruntime model)", s["cache.dir"]["source"]),
        ("prompts and labels", prompts_dir(), "read", "env ASSISTANT_PROMPTS" if env.get("ASSISTANT_PROMPTS") else "default (beside the package)"),
        ("corpus", Path("corpus"), "read by ingest without paths (with each folder's metadata.yaml)", "default (working directory)"),
    ]
    here = Path("eval") / "questions.yaml"
    beside = Path(assistant.__file__).resolve().parent.parent / "eval" / "questions.yaml"
    if here.is_file() or not beside.is_file():
        paths.append(("eval questions", here, "read by eval without a file", "default (working directory)"))
    else:
        paths.append(("eval questions", beside, "read by eval without a file", "default (beside the package; none in the working directory)"))
    paths.append(("eval output", Path("eval") / "out", "written by eval without --out", "default (working directory)"))
    if not env.get("ASSISTANT_LLM_API_KEY") and isinstance(data.get("llm"), dict) and data["llm"].get("api_key_file"):
        paths.append(("API key file", Path(data["llm"]["api_key_file"]), "read", f"config file {cfg_name} [llm] api_key_file"))
    user_cfg = Path(env.get("XDG_CONFIG_HOME") or Path.home() / ".config") / "policy-assistant" / "config.toml"
    searched = [f"$ASSISTANT_CONFIG ({env['ASSISTANT_CONFIG'] if env.get('ASSISTANT_CONFIG') else 'not set'})",
                str(Path("assistant.toml").absolute()), str(user_cfg)]
    return {
        "config_file": {"path": str(cfg_name) if cfg_name else None, "source": cfg_source, "searched": searched},
        "settings": s,
        "paths": [
            {"name": name, "path": str(Path(p).expanduser().absolute()), "exists": Path(p).expanduser().exists(),
             "access": access, "source": source}
            for name, p, access, source in paths if p is not None
        ],
    }
