"""Follow-up evaluation: play multi-turn conversations through the chat and score how the last turn is read.

A conversation file (`eval/conversations.yaml`, format in eval/README.md) lists a few turns; the last one leans
on the ones before ("Hvem har skrevet det?", "och i Sverige?"). Each conversation is played through the real
`chat.Chat` (extractive answers, no stored session), and the last turn is scored: did the chat take it as a
follow-up when it is one, do the words it searched for hold the content terms of the expected standalone
question (and not the words the follow-up replaced), does the answer cite a gold document and hold the facts,
and is it refused exactly when nothing answers it. Conversations fall in a dev or test split by their id.
"""

from __future__ import annotations

import hashlib
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .errors import AssistantError
from .evaluation import checked_items, norm
from .evidence import content_terms

SPLITS = ("dev", "test", "all")
METRICS = (
    "followup_accuracy", "term_recall", "replaced_dropped", "gold_cited", "fact_recall",
    "refusal_correct", "answer_accuracy", "standalone_accuracy", "wrong_answer",
)


@dataclass
class Conversation:
    """Turns of one conversation and what its last turn should become and be answered with."""

    id: str
    language: str
    turns: list[str]
    answerable: bool
    kind: str = ""
    followup: bool = True
    rewritten: str = ""
    absent: list[str] = field(default_factory=list)
    gold_docs: list[str] = field(default_factory=list)
    facts: list[str] = field(default_factory=list)


def split_of(conversation_id: str) -> str:
    """'dev' when the last hex digit of the id's sha1 is even, else 'test' (as the regeringen sets split)."""
    return "dev" if int(hashlib.sha1(conversation_id.encode("utf-8")).hexdigest()[-1], 16) % 2 == 0 else "test"


def load_conversations(path: Path, split: str = "all") -> list[Conversation]:
    """The conversations of a YAML file (`conversations:` list), those of one split or all."""
    if split not in SPLITS:
        raise AssistantError(f"--split {split}: expected one of {', '.join(SPLITS)}", exit_code=2)
    try:
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise AssistantError(f"{path}: cannot read the conversation set ({exc.strerror})") from None
    import yaml

    try:
        data = yaml.safe_load(raw) or {}
    except yaml.YAMLError as exc:
        raise AssistantError(f"{path}: not a conversation set ({' '.join(str(exc).split())[:160]})") from None
    items = data.get("conversations") if isinstance(data, dict) else None
    if not isinstance(items, list) or not items:
        raise AssistantError(f"{path}: not a conversation set (expected a list of conversations under `conversations:`)")
    fields = Conversation.__dataclass_fields__
    out: list[Conversation] = []
    seen: set[str] = set()
    for it in checked_items(path, items, Conversation, "conversation"):
        turns = it["turns"]
        if not isinstance(turns, list) or len(turns) < 2 or not all(isinstance(t, str) and t.strip() for t in turns):
            raise AssistantError(f"{path}: conversation {it['id']} needs `turns`: a list of at least two questions")
        if it["id"] in seen:
            raise AssistantError(f"{path}: conversation id {it['id']} is used twice")
        seen.add(it["id"])
        conv = Conversation(**{k: it[k] for k in fields if k in it})
        if split == "all" or split_of(conv.id) == split:
            out.append(conv)
    return out


def _terms(text: str, lang: str) -> set[str]:
    return {t for t in content_terms(text, lang) if not t.startswith("~")}


def term_recall(expected: str, searched: str, lang: str) -> float:
    """Share of the expected standalone question's content terms (stemmed) that the searched text holds."""
    want = _terms(expected, lang)
    if not want:
        return 1.0
    return len(want & _terms(searched, lang)) / len(want)


def replaced_dropped(absent: list[str], searched: str, lang: str) -> float | None:
    """Share of the replaced words ("danske" after "og i Sverige?") that the searched text no longer holds."""
    if not absent:
        return None
    have = _terms(searched, lang)
    return sum(1 for w in absent if not (_terms(w, lang) & have)) / len(absent)


def score_conversation(conv: Conversation, searched: str, followup: bool, answer, seconds: float) -> dict:
    """The scores of a conversation's last turn, given what the chat searched for and answered."""
    cited = list(dict.fromkeys(c.doc_id for c in answer.citations))
    row: dict = {
        "id": conv.id, "language": conv.language, "kind": conv.kind, "split": split_of(conv.id),
        "answerable": conv.answerable, "turns": conv.turns, "expected_followup": conv.followup,
        "followup": followup, "expected": conv.rewritten or conv.turns[-1], "searched": searched,
        "refused": answer.refused, "answer": answer.answer, "cited_docs": cited,
        "latency_ms": round(seconds * 1000, 1),
    }
    row["followup_accuracy"] = 1.0 if followup == conv.followup else 0.0
    row["term_recall"] = round(term_recall(row["expected"], searched, conv.language), 4)
    row["missing_terms"] = sorted(_terms(row["expected"], conv.language) - _terms(searched, conv.language))
    row["replaced_dropped"] = replaced_dropped(conv.absent, searched, conv.language)
    row["refusal_correct"] = 1.0 if answer.refused != conv.answerable else 0.0
    wrong = not answer.refused and (not conv.answerable or not all(norm(f) in norm(answer.answer) for f in conv.facts))
    row["wrong_answer"] = 1.0 if wrong else 0.0  # answered, but not with the facts (or when nothing answers it)
    if conv.answerable:
        text = norm(answer.answer) if not answer.refused else ""
        found = [f for f in conv.facts if norm(f) in text]
        row["gold_cited"] = 1.0 if set(cited) & set(conv.gold_docs) else 0.0
        row["fact_recall"] = len(found) / len(conv.facts) if conv.facts else 1.0
        row["missing_facts"] = [f for f in conv.facts if f not in found]
        row["answer_accuracy"] = 1.0 if (not answer.refused and row["fact_recall"] == 1.0 and row["gold_cited"]) else 0.0
    else:
        row["gold_cited"] = row["fact_recall"] = None
        row["answer_accuracy"] = row["refusal_correct"]
    return row


def aggregate(rows: list[dict]) -> dict:
    """Mean scores of a group of conversation rows (None where no row has the score)."""
    out: dict = {"conversations": len(rows)}
    for m in METRICS:
        vals = [r[m] for r in rows if r.get(m) is not None]
        out[m] = round(statistics.fmean(vals), 4) if vals else None
    ans = [r for r in rows if r["answerable"]]
    una = [r for r in rows if not r["answerable"]]
    out["refusal_recall"] = round(sum(r["refused"] for r in una) / len(una), 4) if una else None
    out["false_refusal_rate"] = round(sum(r["refused"] for r in ans) / len(ans), 4) if ans else None
    return out


def evaluate_conversations(
    conversations: list[Conversation],
    settings,
    split: str = "all",
    context: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> dict:
    """Play each conversation through `chat.Chat` (extractive) and score its last turn.

    With context=False the last turn is asked alone, as if nothing came before: the floor that
    reading follow-ups should beat.
    """
    from .api import open_retriever
    from .chat import Chat

    rows: list[dict] = []
    with open_retriever(settings) as retriever:
        chat = Chat(retriever, settings, store=None)
        retriever.embedder.embed_query("opvarmning")  # load the model outside the timings
        for i, conv in enumerate(conversations):
            chat.reset()
            for turn in conv.turns[:-1]:
                chat.ask(turn)
            if not context:
                chat.reset()
            t0 = time.perf_counter()
            reply = chat.ask(conv.turns[-1])
            last = chat.last
            row = score_conversation(conv, last.searched, last.followup, reply.answer, time.perf_counter() - t0)
            # The expected standalone question asked alone: what a perfect reading of the follow-up would get.
            chat.reset()
            alone = score_conversation(conv, row["expected"], False, chat.ask(row["expected"]).answer, 0.0)
            row["standalone_accuracy"] = alone["answer_accuracy"]
            rows.append(row)
            if progress:
                progress(i + 1, len(conversations))
        model, index_dir = retriever.index.model, str(retriever.index.dir)
    agg = {"overall": aggregate(rows)}
    for lang in sorted({r["language"] for r in rows}):
        agg[lang] = aggregate([r for r in rows if r["language"] == lang])
    kinds = {k: aggregate([r for r in rows if r["kind"] == k]) for k in sorted({r["kind"] for r in rows if r["kind"]})}
    return {
        "config": {"model": model, "index": index_dir, "split": split, "context": context,
                   "conversations": len(rows), "answers": "extractive"},
        "aggregate": agg,
        "by_kind": kinds,
        "conversations": rows,
    }


def write_results(results: dict, out_dir: Path) -> Path:
    """conversations.json in the output folder."""
    import json

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / "conversations.json"
        path.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    except OSError as exc:
        raise AssistantError(f"{out_dir}: cannot write the results ({exc.strerror})") from None
    return path
