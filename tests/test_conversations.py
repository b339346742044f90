"""`assistant eval --conversations`: the follow-up conversation set, its scoring through the real chat, its errors."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import yaml
from conftest import CORPUS, ROOT, run_cli

from assistant.conversation_eval import load_conversations, split_of, term_recall

SET = ROOT / "eval" / "conversations.yaml"


def test_the_conversation_set_is_sound():
    convs = load_conversations(SET)
    assert len(convs) >= 30 and len({c.id for c in convs}) == len(convs)
    by_lang = Counter(c.language for c in convs)
    assert set(by_lang) == {"da", "sv", "en"} and min(by_lang.values()) >= len(convs) // 4  # about a third each
    splits = Counter(split_of(c.id) for c in convs)
    assert splits["dev"] >= 10 and splits["test"] >= 10
    assert len(load_conversations(SET, "dev")) + len(load_conversations(SET, "test")) == len(convs)
    assert sum(not c.followup for c in convs) >= 3 and sum(not c.answerable for c in convs) >= 3
    for c in convs:
        assert c.id.startswith(c.language + "-") and len(c.turns) >= 2
        assert bool(c.gold_docs) == c.answerable and (not c.answerable or c.facts), c.id
        texts = [(CORPUS / f"{d}.txt").read_text(encoding="utf-8") for d in c.gold_docs]
        for fact in c.facts:  # every fact stands verbatim in a gold document
            assert any(fact in t for t in texts), (c.id, fact)
        earlier = " ".join(c.turns[:-1]).lower()
        for word in c.absent:  # a replaced word was said before the follow-up
            assert word.lower() in earlier, (c.id, word)


def test_term_recall_is_over_stemmed_content_terms():
    expected = "Hvornår er orienteringen om § 18-redegørelsen for 2007 dateret?"
    assert term_recall(expected, "Hvornår er den dateret? (orienteringen § 18-redegørelsen 2007)", "da") == 1.0
    assert term_recall(expected, "Hvornår er den dateret?", "da") < 0.5


def test_eval_plays_conversations_through_the_chat(seed_settings, tmp_path):
    small = tmp_path / "conversations.yaml"
    small.write_text(yaml.safe_dump({"version": 1, "conversations": [
        {"id": "da-t1", "language": "da", "kind": "entity_swap", "answerable": True,
         "turns": ["Hvilket telefonnummer har Berit Steengaard Olesen?", "Og Pernille Skafte?"],
         "rewritten": "Hvilket telefonnummer har Pernille Skafte?", "absent": ["Berit"],
         "gold_docs": ["da-2010-10-08-pressemeddelelse-civilsamfundsstrategi"], "facts": ["33 92 38 00"]},
        {"id": "en-t2", "language": "en", "kind": "pronoun", "answerable": True,
         "turns": ["Which minister published the Danish civil society strategy in 2010?", "Who is the press contact for it?"],
         "rewritten": "Who is the press contact for the Danish civil society strategy of 2010?",
         "gold_docs": ["da-2010-10-08-pressemeddelelse-civilsamfundsstrategi"], "facts": ["Anni Lundqvist"]},
        {"id": "sv-t3", "language": "sv", "kind": "new_topic", "followup": False, "answerable": True,
         "turns": ["Vem är handläggare för cirkulär 1997:145?", "Vilket diarienummer har cirkulär 1997:145?"],
         "gold_docs": ["sv-1997-09-12-cirkular-1997-145-frivilligt-socialt-arbete"], "facts": ["1997/2297"]},
    ]}, allow_unicode=True), encoding="utf-8")
    out = tmp_path / "out"
    r = run_cli("eval", "--conversations", str(small), "--split", "all", "--index", str(seed_settings.index_dir),
                "--out", str(out), "--json")
    assert r.returncode == 0, r.stderr
    res = json.loads(r.stdout)
    assert {"config", "aggregate", "by_kind", "conversations", "written"} <= set(res)
    assert res["config"]["split"] == "all" and res["config"]["conversations"] == 3
    assert Path(res["config"]["index"]).resolve() == Path(seed_settings.index_dir).resolve()  # the index it played on
    rows = {row["id"]: row for row in res["conversations"]}
    swap = rows["da-t1"]
    assert swap["followup"] and "Pernille Skafte" in swap["searched"] and "Berit" not in swap["searched"]
    assert swap["replaced_dropped"] == 1.0 and "33 92 38 00" in swap["answer"] and swap["answer_accuracy"] == 1.0
    pronoun = rows["en-t2"]
    assert "strategy" in pronoun["searched"] and pronoun["term_recall"] >= 0.6
    assert pronoun["cited_docs"][0] == "da-2010-10-08-pressemeddelelse-civilsamfundsstrategi"
    alone = rows["sv-t3"]
    assert not alone["followup"] and alone["searched"] == "Vilket diarienummer har cirkulär 1997:145?"
    assert {"standalone_accuracy", "wrong_answer", "missing_terms", "expected"} <= set(swap)
    overall = res["aggregate"]["overall"]
    assert overall["conversations"] == 3 and overall["followup_accuracy"] == 1.0
    assert set(res["aggregate"]) == {"overall", "da", "en", "sv"}
    assert json.loads((out / "conversations.json").read_text(encoding="utf-8"))["conversations"]

    table = run_cli("eval", "--conversations", str(small), "--split", "all", "--index", str(seed_settings.index_dir),
                    "--out", str(out))
    assert table.returncode == 0, table.stderr
    assert "Follow-ups in chat (all split, 3 conversations)" in table.stdout
    assert "term_recall" in table.stdout and "da-t1" in table.stdout and "Pernille Skafte" in table.stdout


def test_bad_conversation_files_are_named_with_the_reason(seed_settings, tmp_path):
    index = str(seed_settings.index_dir)
    short = tmp_path / "short.yaml"
    short.write_text("conversations:\n  - {id: da-x, language: da, answerable: true, turns: ['Hvad er § 18?']}\n",
                     encoding="utf-8")
    r = run_cli("eval", "--conversations", str(short), "--index", index, "--out", str(tmp_path / "o"))
    assert r.returncode != 0 and str(short) in r.stderr and "at least two questions" in r.stderr
    assert "Traceback" not in r.stderr

    missing = tmp_path / "nowhere.yaml"
    r = run_cli("eval", "--conversations", str(missing), "--index", index, "--out", str(tmp_path / "o"), "--json")
    assert r.returncode != 0 and "cannot read the conversation set" in r.stderr
    err = json.loads(r.stdout)["error"]
    assert err["code"] == r.returncode and str(missing) in err["message"]

    r = run_cli("eval", "--conversations", str(SET), "--split", "train", "--index", index, "--out", str(tmp_path / "o"))
    assert r.returncode == 2 and "--split train" in r.stderr
