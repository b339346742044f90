"""A local log of every `ask`: question, filters, answer, citations, refusal, index and time (SQLite)."""

from __future__ import annotations

import json
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from .errors import AssistantError

_SCHEMA = """
CREATE TABLE IF NOT EXISTS asks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    question TEXT NOT NULL,
    language TEXT,
    answer TEXT NOT NULL,
    refused INTEGER NOT NULL,
    refusal_reason TEXT,
    confidence REAL,
    mode TEXT,
    filters TEXT,
    citations TEXT,
    index_path TEXT
)
"""
_OFF = {"0", "off", "false", "no"}


def default_history_db() -> Path:
    """Where the log is kept unless `ASSISTANT_HISTORY_DB` / `[history] db` says otherwise."""
    from .chat import data_dir

    return data_dir() / "history.sqlite"


def history_enabled(config_value: object = True) -> bool:
    """Whether asks are logged: `ASSISTANT_HISTORY=off` (or `[history] enabled = false`) turns logging off."""
    env = os.environ.get("ASSISTANT_HISTORY")
    if env is not None:
        return env.strip().lower() not in _OFF
    return bool(config_value)


class History:
    """The ask log in one SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self.db = sqlite3.connect(str(path))
            self.db.execute(_SCHEMA)
            self.db.commit()
        except (OSError, sqlite3.Error) as exc:
            raise AssistantError(f"{path}: cannot open the history log ({exc})") from None

    def close(self) -> None:
        """Close the database."""
        self.db.close()

    def __enter__(self) -> History:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def record(self, answer, filters: dict | None, index_path: str) -> int:
        """Log one answer (an `Answer` or its JSON object); returns its id."""
        data = answer.to_json() if hasattr(answer, "to_json") else dict(answer)
        cur = self.db.execute(
            "INSERT INTO asks (time, question, language, answer, refused, refusal_reason, confidence, mode, filters,"
            " citations, index_path) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (datetime.now(UTC).isoformat(timespec="seconds"), data["question"], data.get("language"),
             data["answer"], int(bool(data["refused"])), data.get("refusal_reason"), data.get("confidence"),
             data.get("mode"), json.dumps(filters or {}, ensure_ascii=False),
             json.dumps(data.get("citations", []), ensure_ascii=False), index_path),
        )
        self.db.commit()
        return int(cur.lastrowid)

    def entries(self, limit: int = 20, search: str | None = None) -> list[dict]:
        """The newest entries first, optionally only those whose question or answer holds `search`."""
        sql, args = "SELECT * FROM asks", []
        if search:
            sql += " WHERE question LIKE ? OR answer LIKE ?"
            args = [f"%{search}%", f"%{search}%"]
        sql += " ORDER BY id DESC LIMIT ?"
        args.append(limit)
        return [self._row(r) for r in self._query(sql, args)]

    def get(self, entry_id: int) -> dict | None:
        """One entry by id, or None."""
        rows = self._query("SELECT * FROM asks WHERE id = ?", [entry_id])
        return self._row(rows[0]) if rows else None

    def clear(self) -> int:
        """Delete every entry; returns how many there were."""
        n = self.db.execute("SELECT COUNT(*) FROM asks").fetchone()[0]
        self.db.execute("DELETE FROM asks")
        self.db.commit()
        return int(n)

    def _query(self, sql: str, args: list) -> list[sqlite3.Row]:
        self.db.row_factory = sqlite3.Row
        return self.db.execute(sql, args).fetchall()

    @staticmethod
    def _row(r: sqlite3.Row) -> dict:
        out = dict(r)
        out["refused"] = bool(out["refused"])
        out["filters"] = json.loads(out["filters"] or "{}")
        out["citations"] = json.loads(out["citations"] or "[]")
        out["index"] = out.pop("index_path")
        return out
