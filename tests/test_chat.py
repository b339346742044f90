"""`assistant chat` on the real seed index: follow-up rewriting, commands, sessions, a real terminal."""

from __future__ import annotations

import json
import os
import re
import sys

import pytest
from conftest import CIRCULAR, PRESS_2010, Q_2009, Q_STRATEGY, ROOT, STRATEGY, assert_quotes_exact, run_cli

from assistant.answering import Answer, Citation
from assistant.chat import (
    Chat,
    PastTurn,
    SessionStore,
    is_followup,
    key_terms,
    parse_command,
    parse_filters,
    rewrite_followup,
)
from assistant.errors import QuestionError
from assistant.retrieval import Filters


@pytest.fixture
def chat(answerer, seed_settings, tmp_path):
    store = SessionStore(tmp_path / "chat.sqlite")
    yield Chat(answerer.retriever, seed_settings, store)
    store.close()


# --- rewriting ------------------------------------------------------------------------------------------


def test_key_terms_keep_subject_names_numbers_and_paragraphs():
    assert key_terms(Q_2009) == ["udbetalte", "kommunerne", "2009", "§ 18-støtte"]
    assert "Frederiksbergs" in key_terms("Hur mycket pengar avsatte Frederiksbergs kommun 2010?")
    assert key_terms("Hvad er formålet med det?") == ["formålet"]


@pytest.mark.parametrize(
    "question,followup",
    [
        ("Og hvad er formålet med det?", True),
        ("Vem finansierade det?", True),
        ("and in 2010?", True),
        ("Hvem har udarbejdet redegørelsen?", True),
        ("Over hvor mange år?", True),
        (Q_2009, False),
        ("Hur ska de lokala projekten finansieras?", False),
        ("Hvornår skulle Kommunförbundet have svar fra kommunerne?", False),
    ],
)
def test_followup_detection(question, followup):
    assert is_followup(question) is followup
    assert is_followup(question, has_history=False) is False


def test_standalone_questions_are_not_rewritten():
    prev = [PastTurn(Q_2009, Q_2009)]
    assert rewrite_followup(Q_STRATEGY, prev) == Q_STRATEGY
    assert rewrite_followup("Og hvad er formålet med det?", []) == "Og hvad er formålet med det?"


def test_a_fragment_takes_the_previous_question_with_its_year_replaced():
    prev = [PastTurn(Q_2009, Q_2009)]
    assert rewrite_followup("and in 2010?", prev) == "Hvor meget udbetalte kommunerne i 2010 i § 18-støtte?"
    assert rewrite_followup("Og i Silkeborg?", prev) == "Hvor meget udbetalte kommunerne i 2009 i § 18-støtte Silkeborg?"


def test_a_new_kind_of_question_takes_the_subject_not_the_old_ask():
    prev = [PastTurn(Q_2009, Q_2009)]
    who = rewrite_followup("Hvem har underskrevet det?", prev)
    assert "2009" in who and "§ 18-støtte" in who and "kommunerne" in who and "udbetalte" not in who
    # the same kind of question keeps what was asked: "det" is still the amount paid out
    same = rewrite_followup("Hvor meget var det året før?", prev)
    assert "udbetalte" in same and "2008" in same and "2009" not in same
    assert rewrite_followup("Og året før?", prev) == "Hvor meget udbetalte kommunerne i 2008 i § 18-støtte?"
    assert rewrite_followup("and the year after?", prev) == "Hvor meget udbetalte kommunerne i 2010 i § 18-støtte?"
    q = "Vilket diarienummer har Kommunförbundets cirkulär om äldreomsorg?"
    which = [PastTurn(q, q)]
    when = rewrite_followup("När skickades det ut?", which)
    assert "diarienummer" not in when and "Kommunförbundets" in when and "äldreomsorg" in when


def test_fragments_swap_a_country_or_a_name_and_roles_are_swapped():
    q = "Hvor mange danske kommuner har en frivillighedspolitik?"
    danish = [PastTurn(q, q)]
    assert rewrite_followup("Og i Norge?", danish) == "Hvor mange kommuner har en frivillighedspolitik Norge?"
    phone = [PastTurn("Vilket telefonnummer har Karl-Axel Johansson?", "Vilket telefonnummer har Karl-Axel Johansson?")]
    assert rewrite_followup("Och Anita Sundin?", phone) == "Vilket telefonnummer har Anita Sundin?"
    role = [PastTurn("Vem var sekreterare i styrelsen för Röda Korset?", "Vem var sekreterare i styrelsen för Röda Korset?")]
    chair = rewrite_followup("Vem var ordförande?", role)
    assert "sekreterare" not in chair and "styrelsen" in chair and "Röda Korset" in chair


def test_she_is_the_person_the_previous_answer_named():
    quote = "Ved Charlotte Markussen"
    cite = Citation(1, "da-x", "x.txt", "Oplæg", None, 0, len(quote), quote, 1.0)
    ans = Answer("Hvem holdt oplægget om frivillighed?", "da", quote + " [1]", False, [cite])
    rewritten = rewrite_followup("Hvilken uddannelse har hun?", [PastTurn(ans.question, ans.question, ans)])
    assert "Charlotte Markussen" in rewritten and "oplægget" in rewritten and "Ved" not in rewritten


def test_a_question_naming_the_thing_again_is_read_with_its_paragraph_and_year():
    prev = "Hvilket journalnummer har ministeriets brev om § 18-redegørelsen for 2007?"
    assert is_followup("Hvem skrev selve redegørelsen?", previous=prev)
    assert rewrite_followup("Hvem skrev selve redegørelsen?", [PastTurn(prev, prev)]) == "Hvem skrev selve redegørelsen? (§ 18 2007)"
    assert not is_followup("Hvem skrev Frederiksbergs frivillighedspolitik?", previous=prev)


def test_a_failed_condensing_is_said_in_words(chat):
    class Down:
        def invoke(self, text):
            raise ConnectionRefusedError(111, "Connection refused")

    class Unreachable:
        def chat_model(self):
            return Down()

    chat.ask(Q_2009)
    chat._llm_answerer, chat.llm = Unreachable(), True
    searched, followup, notes = chat.rewrite("Og hvor mange procent er det?")
    assert followup and "2009" in searched
    assert notes == ["could not condense with the chat model (its server could not be reached); rewrote without it"]
    assert "Error" not in notes[0]


def test_who_wrote_it_after_the_amount_is_not_answered_with_the_amount(chat):
    chat.ask(Q_2009)
    chat.ask("Hvor mange procent af statstilskuddet svarer det til?")
    who = chat.ask("Hvem har skrevet det?").answer  # issue 23: this was answered with the amount sentences
    assert "2009" in who.searched and "udbetalte" not in who.searched
    assert "144,7" not in who.answer and "101 procent" not in who.answer


def test_followups_are_answered_from_the_right_document(chat, answerer):
    first = chat.ask(Q_2009).answer
    assert "144,7 millioner" in first.answer and first.searched == Q_2009

    who = chat.ask("Hvem har udarbejdet redegørelsen?").answer
    assert "2009" in who.searched and "§ 18" in who.searched  # the subject of the first turn
    # The answerer decides whether the 2009 report's author is stated well enough; never the 2007 one alone.
    assert who.refused or any(c.doc_id == PRESS_2010 and "Ankestyrelsen" in c.quote for c in who.citations)

    pct = chat.ask("Og hvor mange procent af tilskuddet er det?").answer
    assert pct.searched != pct.question and "2009" in pct.searched
    assert not pct.refused and "101 procent" in pct.answer
    assert any(c.doc_id == PRESS_2010 and "101 procent" in c.quote for c in pct.citations)
    assert_quotes_exact(pct, answerer.retriever.index.manifest)

    frag = chat.ask("and in 2010?").answer
    assert "2010" in frag.searched and "2009" not in frag.searched
    assert [t.seq for t in chat.turns] == [1, 2, 3, 4]


def test_a_followup_that_needs_the_previous_turn(chat):
    chat.ask(Q_STRATEGY)
    ans = chat.ask("Og hvad er formålet med den?").answer
    assert "civilsamfundsstrategi" in ans.searched
    assert not ans.refused and ans.citations[0].doc_id == STRATEGY
    assert "systematisk inddrager civilsamfundet" in ans.answer


def test_llm_mode_condenses_with_the_chat_model(chat, seed_settings):
    llm = pytest.importorskip("assistant.llm")
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    condensed = "Hvor mange procent af det statslige tilskud udbetalte kommunerne i 2009 i § 18-støtte?"
    fake = FakeListChatModel(responses=[condensed, "Kommunerne udbetaler 101 procent af det særlige tilskud. [1]"])
    chat.ask(Q_2009)
    chat._llm_answerer = llm.LLMAnswerer(chat.retriever, seed_settings.llm, chat_model=fake)
    chat.llm = True
    reply = chat.ask("Og hvor mange procent er det?")
    assert reply.answer.searched == condensed
    assert "101 procent" in reply.answer.answer


def test_a_reasoning_models_thinking_is_never_searched(chat, seed_settings):
    llm = pytest.importorskip("assistant.llm")
    from langchain_core.language_models.fake_chat_models import FakeListChatModel

    # a reasoning model cut off inside its <think> block: nothing usable, so the turn's own reading is searched
    fake = FakeListChatModel(responses=["<think>Brugeren spørger om procentdelen i 2009, altså", "Kommunerne udbetaler 101 procent. [1]"])
    chat.ask(Q_2009)
    chat._llm_answerer = llm.LLMAnswerer(chat.retriever, seed_settings.llm, chat_model=fake)
    chat.llm = True
    reply = chat.ask("Og hvor mange procent er det?")
    assert "think" not in reply.answer.searched and "Brugeren" not in reply.answer.searched
    assert "procent" in reply.answer.searched


# --- commands and sessions ------------------------------------------------------------------------------


def test_command_parsing_and_filters():
    assert parse_command("Hvad er § 18?") is None
    assert parse_command("/open 2").args == ["2"]
    assert parse_command("/q").name == "quit"
    with pytest.raises(QuestionError, match="unknown command"):
        parse_command("/frobnicate")
    types = ["circular", "municipal_policy", "press_release", "s18_statement"]
    f = parse_filters(["lang=da", "type=policy", "since=2009"], Filters(), types)
    assert f == Filters(lang="da", type="municipal_policy", since="2009")
    assert parse_filters(["lang=sv"], f, types) == Filters(lang="sv", type="municipal_policy", since="2009")
    assert parse_filters(["type=off"], f, types) == Filters(lang="da", since="2009")
    assert parse_filters(["off"], f, types) == Filters()
    for bad in (["lang=de"], ["since=last year"], ["type=memo"], ["colour=red"]):
        with pytest.raises(QuestionError):
            parse_filters(bad, f, types)


def test_sources_open_save_and_resume(chat, answerer, seed_settings, tmp_path):
    with pytest.raises(QuestionError, match="no answer yet"):
        chat.handle("/sources")
    chat.ask("Hur ska de lokala projekten finansieras?")
    passages = chat.handle("/sources").passages
    text = answerer.retriever.index.manifest.document_text(CIRCULAR)
    for p in passages:
        assert text[p.start : p.end] == p.text
        for _, s, e in p.marks:
            assert "finansieras i kommunen" in p.text[s:e]
    opened = chat.handle("/open 1").passages[0]
    assert opened.text[opened.quote_start : opened.quote_end] == "De lokala projekten förutsätts finansieras i kommunen."
    assert len(opened.text) > len(passages[0].text) / 2
    with pytest.raises(QuestionError, match="no citation"):
        chat.handle("/open 7")

    assert chat.handle("/filter lang=sv").filters == Filters(lang="sv")
    reply = chat.handle(f"/save {tmp_path / 't.md'}")
    md = (tmp_path / "t.md").read_text(encoding="utf-8")
    assert reply.kind == "saved"
    assert "Hur ska de lokala projekten finansieras?" in md and "finansieras i kommunen" in md
    assert CIRCULAR in md and "> De lokala projekten" in md

    other = Chat(answerer.retriever, seed_settings, chat.store)
    info = other.resume()
    assert info.id == chat.session_id and info.turns == 1 and info.filters == {"lang": "sv"}
    assert other.filters == Filters(lang="sv") and other.turns[0].answer.citations[0].doc_id == CIRCULAR
    assert other.handle("/reset").kind == "reset" and other.turns == []
    assert other.handle("/quit").kind == "quit"


# --- the command line -----------------------------------------------------------------------------------


def _env(tmp_path) -> dict:
    return {"ASSISTANT_CHAT_DB": str(tmp_path / "chat.sqlite"), "XDG_DATA_HOME": str(tmp_path / "data")}


def test_piped_questions_and_commands(seed_settings, tmp_path):
    lines = f"{Q_2009}\nOg hvor mange procent af tilskuddet er det?\n/sources\n/bogus\n/quit\nnot asked\n"
    r = run_cli("chat", "--index", str(seed_settings.index_dir), "--json", env=_env(tmp_path), input=lines)
    assert r.returncode == 0, r.stderr
    out = [json.loads(line) for line in r.stdout.splitlines()]
    assert [o.get("turn") or o.get("command") or "error" for o in out] == [1, 2, "sources", "error"]
    assert out[3]["error"].startswith("unknown command /bogus") and out[3]["session"] == out[0]["session"]
    assert "144,7 millioner" in out[0]["answer"] and "searched" not in out[0]
    assert "101 procent" in out[1]["answer"] and "2009" in out[1]["searched"]
    assert out[2]["passages"][0]["doc_id"] == PRESS_2010
    assert "unknown command /bogus" in r.stderr

    r = run_cli("chat", "--index", str(seed_settings.index_dir), env=_env(tmp_path), input="Hur ska de lokala projekten finansieras?\n")
    assert r.returncode == 0, r.stderr
    assert "finansieras i kommunen" in r.stdout and "Källor" in r.stdout and "\x1b[" not in r.stdout


def test_list_and_resume(seed_settings, tmp_path):
    env = _env(tmp_path)
    idx = str(seed_settings.index_dir)
    r = run_cli("chat", "--list", "--json", env=env)
    assert r.returncode == 0 and json.loads(r.stdout) == {"sessions": []}
    run_cli("chat", "--index", idx, "--lang", "da", env=env, input=f"{Q_STRATEGY}\n")
    run_cli("chat", "--index", idx, env=env, input=f"{Q_2009}\n")
    sessions = json.loads(run_cli("chat", "--list", "--json", env=env).stdout)["sessions"]
    assert [s["turns"] for s in sessions] == [1, 1] and sessions[0]["title"] == Q_2009
    assert sessions[1]["filters"] == {"lang": "da"}
    assert "first question" in run_cli("chat", "--list", env=env).stdout

    r = run_cli("chat", "--index", idx, "--resume", "--json", env=env, input="Og hvor mange procent af tilskuddet er det?\n")
    ans = json.loads(r.stdout)
    assert ans["session"] == sessions[0]["id"] and ans["turn"] == 2 and "101 procent" in ans["answer"]

    older = sessions[1]["id"]
    r = run_cli("chat", "--index", idx, "--resume", str(older), "--json", env=env, input="Og hvad er formålet med den?\n")
    ans = json.loads(r.stdout)
    assert ans["session"] == older and ans["citations"][0]["doc_id"] == STRATEGY
    r = run_cli("chat", "--index", idx, "--resume", "999", env=env, input="")
    assert r.returncode == 1 and "no chat session 999" in r.stderr


def _terminal_chat(index_dir, tmp_path, columns: int, timeout: int):
    """`assistant chat` in a real pseudo-terminal (pexpect), with its own data folder."""
    pexpect = pytest.importorskip("pexpect")
    env = {**os.environ, **_env(tmp_path), "PROMPT_TOOLKIT_NO_CPR": "1", "TERM": "xterm", "COLUMNS": str(columns)}
    child = pexpect.spawn(
        sys.executable, ["-m", "assistant", "chat", "--index", str(index_dir)],
        cwd=str(ROOT), env=env, encoding="utf-8", timeout=timeout, dimensions=(50, columns),
    )
    return pexpect, child


def test_terminal_session_end_to_end(seed_settings, tmp_path):
    pexpect, child = _terminal_chat(seed_settings.index_dir, tmp_path, 220, 90)
    ansi = r"(?:\x1b\[[0-9;?]*[A-Za-z])*"
    try:
        child.expect("/help for commands")
        child.expect("›")
        child.sendline(Q_STRATEGY)
        child.expect("100 mio. kr.")
        child.expect("Kilder")
        child.expect("›")
        child.sendline("Og hvad er formålet med den?")
        child.expect("Søgte efter")  # the rewritten question, shown faintly
        child.expect("systematisk inddrager civilsamfundet")
        child.expect("›")
        child.sendline("/sources")
        child.expect(re.escape("Ny national strategi for civilsamfundet") + ansi + " " + ansi + r"\(corpus/")
        child.expect(r"Strategien er et led i regeringens\s+indsats")  # the passage in full (wrapped), not just the quote
        child.expect("›")
        child.sendline("/filter lang=sv")
        child.expect("filters:" + ansi + " lang=sv")
        child.expect("›")
        child.sendline(f"/save {tmp_path / 't.md'}")
        child.expect("saved 2 turn")
        child.expect("›")
        child.sendintr()  # Ctrl-C at the prompt: a fresh prompt, the chat goes on
        child.expect("›")
        child.sendline("/quit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0, child.before
    md = (tmp_path / "t.md").read_text(encoding="utf-8")
    assert Q_STRATEGY in md and "Og hvad er formålet med den?" in md
    assert "100 mio. kr." in md and "systematisk inddrager civilsamfundet" in md
    assert "**Kilder:**" in md and STRATEGY in md and md.count("> ") >= 2
    assert (tmp_path / "data" / "policy-assistant" / "chat_history").exists()


def test_ctrl_d_leaves_with_status_zero(seed_settings, tmp_path):
    pexpect, child = _terminal_chat(seed_settings.index_dir, tmp_path, 160, 60)
    child.expect("›")
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0


def test_terminal_followup_is_answered_from_the_document_of_the_first_turn(seed_settings, tmp_path):
    # Both press releases give Anni Lundqvist as press contact; "it" is the strategy the first turn was about.
    pexpect, child = _terminal_chat(seed_settings.index_dir, tmp_path, 200, 90)
    try:
        child.expect("›")
        child.sendline("Which minister published the Danish civil society strategy in 2010?")
        child.expect("Benedikte Kiær")
        child.expect("›")
        child.sendline("Who is the press contact for it?")
        child.expect("Searched for")
        child.expect("civil society strategy")  # the subject of the first turn, carried into the search
        child.expect("Anni Lundqvist")
        child.expect(re.escape("corpus/" + STRATEGY))
        child.expect("›")
        child.sendline("/quit")
        child.expect(pexpect.EOF)
    finally:
        child.close()
    assert child.exitstatus == 0, child.before
