"""The command line as a terminal user meets it: --version, completion, stdin questions, JSON errors,
chat's bare exit/quit/clear, damaged .docx reasons in words and `assistant config`."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from importlib.metadata import version

import pytest
from conftest import PRESS_2010, Q_2009, ROOT, run_cli

NO_INDEX = "no index here"


def _json_error(r) -> dict:
    """The {"error": {...}} object a failed --json command printed on stdout (one object, nothing else)."""
    out = json.loads(r.stdout)
    assert set(out) == {"error"} and set(out["error"]) == {"code", "message"}, out
    return out["error"]


# --- 1. --version and shell completion ----------------------------------------------------------------


def test_version_prints_the_installed_package_version():
    r = run_cli("--version")
    assert r.returncode == 0, r.stderr
    assert r.stdout == f"policy-assistant {version('policy-assistant')}\n"


def test_completion_script_is_printed_and_completes_commands_and_options():
    r = run_cli("--help")
    assert "--install-completion" in r.stdout and "--show-completion" in r.stdout
    r = run_cli("--show-completion", "bash", env={"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"})
    assert r.returncode == 0, r.stderr
    assert "complete -o default -F _assistant_completion assistant" in r.stdout  # the command name, not `python -m`
    assert "_ASSISTANT_COMPLETE=complete_bash" in r.stdout
    # What bash gets back when the script asks: `assistant in<TAB>`, `assistant ask --la<TAB>`.
    r = run_cli(env={"_ASSISTANT_COMPLETE": "complete_bash", "COMP_WORDS": "assistant in", "COMP_CWORD": "1"})
    assert r.returncode == 0 and r.stdout.split() == ["ingest", "index"]
    r = run_cli(env={"_ASSISTANT_COMPLETE": "complete_bash", "COMP_WORDS": "assistant ask --la", "COMP_CWORD": "2"})
    assert r.stdout.split() == ["--lang"]


def test_completion_works_in_a_real_bash(tmp_path):
    """The printed script, sourced by bash, completes `assistant in<TAB>` and `assistant ask --la<TAB>`."""
    bash = shutil.which("bash")
    bindir = os.path.dirname(sys.executable)
    if not bash or not os.path.exists(os.path.join(bindir, "assistant")):
        pytest.skip("needs bash and the installed `assistant` command")
    r = run_cli("--show-completion", "bash", env={"_TYPER_COMPLETE_TEST_DISABLE_SHELL_DETECTION": "1"})
    script = tmp_path / "assistant-completion.bash"
    script.write_text(r.stdout, encoding="utf-8")
    probe = (
        f"source {script}\n"
        "COMP_WORDS=(assistant in); COMP_CWORD=1; _assistant_completion assistant; echo \"1:${COMPREPLY[*]}\"\n"
        "COMP_WORDS=(assistant ask --la); COMP_CWORD=2; _assistant_completion assistant; echo \"2:${COMPREPLY[*]}\"\n"
    )
    env = dict(os.environ, PATH=bindir + os.pathsep + os.environ.get("PATH", ""))
    out = subprocess.run([bash, "--norc", "--noprofile"], input=probe, capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = dict(line.split(":", 1) for line in out.stdout.splitlines() if ":" in line)
    assert lines["1"].split() == ["ingest", "index"] and lines["2"].split() == ["--lang"], out.stdout


# --- 3. the question from standard input ----------------------------------------------------------------


def test_ask_and_search_read_the_question_from_stdin(seed_settings):
    idx = str(seed_settings.index_dir)
    r = run_cli("ask", "-", "--index", idx, "--json", input=Q_2009 + "\n")
    assert r.returncode == 0, r.stderr
    ans = json.loads(r.stdout)
    assert ans["question"] == Q_2009 and "144,7 millioner" in ans["answer"] and not ans["refused"]
    r = run_cli("search", "-", "--index", idx, "-k", "3", "--json", input=Q_2009)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["results"][0]["doc_id"] == PRESS_2010


@pytest.mark.parametrize("cmd", ["ask", "search"])
def test_empty_stdin_is_an_empty_question(seed_settings, cmd):
    r = run_cli(cmd, "-", "--index", str(seed_settings.index_dir), input="  \n")
    assert r.returncode == 2 and r.stdout == ""
    assert r.stderr.strip() == "error: the question is empty"


# --- 4. errors as JSON with --json ----------------------------------------------------------------------


def test_json_errors_on_stdout_with_the_exit_code(seed_settings, tmp_path):
    missing = str(tmp_path / "no-index")
    r = run_cli("ask", Q_2009, "--index", missing, "--json")
    assert r.returncode == 4
    err = _json_error(r)
    assert err["code"] == 4 and NO_INDEX in err["message"]
    assert r.stderr.strip() == f"error: {err['message']}"  # the plain line stays on stderr

    r = run_cli("ask", "", "--index", str(seed_settings.index_dir), "--json")
    assert r.returncode == 2 and _json_error(r) == {"code": 2, "message": "the question is empty"}
    r = run_cli("search", "-", "--index", str(seed_settings.index_dir), "--json", input="")
    assert r.returncode == 2 and _json_error(r) == {"code": 2, "message": "the question is empty"}

    bad = tmp_path / "questions.yaml"
    bad.write_text("questions: [unclosed\n", encoding="utf-8")
    for path, words in ((bad, "not a question set"), (tmp_path / "absent.yaml", "cannot read")):
        r = run_cli("eval", str(path), "--index", str(seed_settings.index_dir), "--out", str(tmp_path / "out"), "--json")
        assert r.returncode == 1
        err = _json_error(r)
        assert err["code"] == 1 and str(path) in err["message"] and words in err["message"]

    r = run_cli("index", "status", "--index", missing, "--json")
    assert r.returncode == 4 and _json_error(r)["code"] == 4

    # Usage errors found by the argument parser, too.
    r = run_cli("ask", Q_2009, "-k", "0", "--index", str(seed_settings.index_dir), "--json")
    assert r.returncode == 2 and _json_error(r)["code"] == 2 and "-k" in _json_error(r)["message"]
    r = run_cli("ask", "--json")
    assert r.returncode == 2 and "Missing argument" in _json_error(r)["message"]


def test_without_json_errors_stay_off_stdout(tmp_path):
    r = run_cli("ask", Q_2009, "--index", str(tmp_path / "no-index"))
    assert r.returncode == 4 and r.stdout == "" and NO_INDEX in r.stderr


# --- 8. eval finds its question set -----------------------------------------------------------------------


def test_eval_without_a_file_finds_the_repository_question_set_from_elsewhere(tmp_path):
    r = run_cli("eval", "--index", str(tmp_path / "no-index"), "--out", str(tmp_path / "out"), "--json", cwd=tmp_path)
    assert r.returncode == 4, r.stderr  # it got past the question set, to the (missing) index
    assert "questions.yaml" not in r.stderr and NO_INDEX in _json_error(r)["message"]


def test_eval_without_any_question_set_says_where_it_looked(tmp_path):
    pkg = tmp_path / "pkg"  # the package alone, without the repository's eval/ beside it
    shutil.copytree(ROOT / "assistant", pkg / "assistant", ignore=shutil.ignore_patterns("__pycache__"))
    work = tmp_path / "work"
    work.mkdir()
    r = run_cli("eval", "--json", cwd=work, env={"PYTHONPATH": str(pkg)})
    assert r.returncode == 1, r.stderr
    msg = _json_error(r)["message"]
    assert str(work / "eval" / "questions.yaml") in msg and str(pkg / "eval" / "questions.yaml") in msg
    assert "assistant eval QUESTIONS.yaml" in msg


# --- 5. chat: bare exit / quit / clear ----------------------------------------------------------------------


def _chat_env(tmp_path) -> dict:
    return {"ASSISTANT_CHAT_DB": str(tmp_path / "chat.sqlite"), "XDG_DATA_HOME": str(tmp_path / "data")}


@pytest.mark.parametrize("word", ["exit", "quit", "/exit", "/quit", "Quit"])
def test_chat_ends_at_a_bare_exit_or_quit(seed_settings, tmp_path, word):
    env = _chat_env(tmp_path)
    r = run_cli("chat", "--index", str(seed_settings.index_dir), "--json", env=env, input=f"{word}\n{Q_2009}\n")
    assert r.returncode == 0, r.stderr
    assert r.stdout == "" and r.stderr == ""  # not asked as a question, and the question after it never read
    assert json.loads(run_cli("chat", "--list", "--json", env=env).stdout) == {"sessions": []}  # nothing stored


def test_chat_clear_forgets_the_context(seed_settings, tmp_path):
    env = _chat_env(tmp_path)
    followup = "Og hvor mange procent af tilskuddet er det?"
    lines = f"{Q_2009}\nclear\n{followup}\n/clear\n"
    r = run_cli("chat", "--index", str(seed_settings.index_dir), "--json", env=env, input=lines)
    assert r.returncode == 0, r.stderr
    out = [json.loads(line) for line in r.stdout.splitlines()]
    assert [o.get("command") or o.get("turn") for o in out] == [1, "clear", 1, "clear"]
    assert "context cleared" in out[1]["message"]
    # After `clear` the follow-up stands alone: not rewritten with the first question's terms, in a new session.
    assert out[2]["question"] == followup and "searched" not in out[2]
    assert out[2]["session"] != out[0]["session"]
    sessions = json.loads(run_cli("chat", "--list", "--json", env=env).stdout)["sessions"]
    assert sorted(s["title"] for s in sessions) == sorted([Q_2009, followup]) and all(s["turns"] == 1 for s in sessions)

    r = run_cli("chat", "--index", str(seed_settings.index_dir), env=env, input="clear\nexit\n")
    assert r.returncode == 0 and "context cleared" in r.stdout and "\x1b[" not in r.stdout


# --- 11. a damaged .docx is described in words -------------------------------------------------------------------


def test_broken_docx_reasons_are_words_not_exception_names(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "ok.txt").write_text("Kommunen støtter frivillige sociale foreninger med lokaler og tilskud.", encoding="utf-8")
    (folder / "random.docx").write_bytes(bytes(range(256)) * 8)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:  # a zip, but no [Content_Types].xml or word/document.xml in it
        z.writestr("hello.txt", "not a Word document")
    (folder / "zip-without-document.docx").write_bytes(buf.getvalue())
    (folder / "old-word.docx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1024))  # a .doc renamed

    r = run_cli("ingest", str(folder), "--index", str(tmp_path / "idx"), "--json")
    assert r.returncode == 3, r.stderr
    out = json.loads(r.stdout)
    reasons = {f["source"].rsplit("/", 1)[-1]: f["reason"] for f in out["failed"]}
    assert set(reasons) == {"random.docx", "zip-without-document.docx", "old-word.docx"} and out["added"] == 1
    for name in ("random.docx", "zip-without-document.docx"):
        assert "not a Word document: the file is damaged or not a .docx" in reasons[name]
    assert "an old Word .doc or a password-protected document" in reasons["old-word.docx"]
    for reason in reasons.values():
        assert not re.search(r"\b[A-Z][a-z]+(?:[A-Z][a-z]*)*(?:Error|Exception|File)\b", reason), reason  # KeyError, BadZipFile


# --- 12. assistant config ---------------------------------------------------------------------------------------


def test_config_shows_values_and_where_they_came_from(tmp_path):
    (tmp_path / "assistant.toml").write_text('[index]\npath = "from-file"\n[llm]\nmodel = "llama3.1:8b"\n', encoding="utf-8")
    secret = "sk-do-not-print-123"
    env = {
        "ASSISTANT_CONFIG": "", "ASSISTANT_INDEX": "", "ASSISTANT_LLM_MODEL": "", "ASSISTANT_EMBED_MODEL": "",
        "ASSISTANT_CHROMA_URL": "http://127.0.0.1:9", "ASSISTANT_LLM_API_KEY": secret,
        "ASSISTANT_CHAT_DB": str(tmp_path / "sessions.sqlite"),
    }
    r = run_cli("config", "--json", cwd=tmp_path, env=env)
    assert r.returncode == 0, r.stderr
    assert secret not in r.stdout + r.stderr
    rep = json.loads(r.stdout)
    assert set(rep) == {"config_file", "settings", "paths"}
    assert rep["config_file"]["path"] == str(tmp_path / "assistant.toml")
    s = rep["settings"]
    assert {"index.path", "chroma.url", "embedding.model", "embedding.runtime", "llm.provider", "llm.model",
            "llm.base_url", "llm.api_key", "chat.db", "cache.dir"} <= set(s)
    assert s["chroma.url"] == {"value": "http://127.0.0.1:9", "source": "env ASSISTANT_CHROMA_URL", "env": "ASSISTANT_CHROMA_URL"}
    assert s["index.path"]["value"] == "from-file"
    assert s["index.path"]["source"] == f"config file {tmp_path / 'assistant.toml'} [index] path"
    assert s["llm.model"]["value"] == "llama3.1:8b" and s["llm.model"]["source"].startswith("config file")
    assert s["embedding.model"] == {"value": "multilingual-e5-small", "source": "default", "env": "ASSISTANT_EMBED_MODEL"}
    assert s["llm.api_key"]["set"] is True and s["llm.api_key"]["source"] == "env ASSISTANT_LLM_API_KEY"
    assert s["llm.threads"]["source"].startswith("default") and s["llm.threads"]["value"] >= 1
    assert s["chroma.collection"] == {"value": "policy-assistant", "source": "default", "env": "ASSISTANT_CHROMA_COLLECTION"}
    r3 = run_cli("--chroma-collection", "team-b", "config", "--json", cwd=tmp_path, env=env)
    assert json.loads(r3.stdout)["settings"]["chroma.collection"]["source"] == "flag --chroma-collection"
    r2 = run_cli("config", "--json", cwd=tmp_path, env={**env, "ASSISTANT_LLM_MODEL_PATH": str(tmp_path / "m.gguf")})
    assert json.loads(r2.stdout)["settings"]["llm.model_path"] == {
        "value": str(tmp_path / "m.gguf"), "source": "env ASSISTANT_LLM_MODEL_PATH", "env": "ASSISTANT_LLM_MODEL_PATH"}
    paths = {p["name"]: p for p in rep["paths"]}
    assert paths["index folder"]["path"] == str(tmp_path / "from-file") and paths["index folder"]["exists"] is False
    assert paths["chat sessions"]["path"] == str(tmp_path / "sessions.sqlite")
    assert paths["chat sessions"]["source"] == "env ASSISTANT_CHAT_DB"
    assert "Chroma vectors" not in paths  # they live on the server
    assert paths["eval questions"]["path"] == str(ROOT / "eval" / "questions.yaml")  # none here: the repository's

    # A flag beats the file; the table for people says the same.
    r = run_cli("config", "--index", str(tmp_path / "flagged"), cwd=tmp_path, env=env)
    assert r.returncode == 0 and secret not in r.stdout
    row = next(line for line in r.stdout.splitlines() if "index.path" in line)
    assert str(tmp_path / "flagged") in row and "flag --index" in row
    row = next(line for line in r.stdout.splitlines() if "chroma.url" in line)
    assert "http://127.0.0.1:9" in row and "env ASSISTANT_CHROMA_URL" in row
    assert "set (not shown)" in r.stdout


def test_index_list_never_cuts_a_doc_id_in_a_narrow_terminal(seed_settings):
    import pexpect

    env = dict(os.environ, COLUMNS="70", TERM="xterm")
    child = pexpect.spawn(sys.executable, ["-m", "assistant", "index", "list", "--index", str(seed_settings.index_dir)],
                          env=env, encoding="utf-8", timeout=120, dimensions=(40, 70), cwd=str(ROOT))
    child.expect(pexpect.EOF)
    screen = re.sub(r"\x1b\[[0-9;]*m", "", child.before)
    ids = ["da-2010-11-30-pressemeddelelse-kommuner-styrker-samarbejdet",
           "sv-1997-09-12-cirkular-1997-145-frivilligt-socialt-arbete"]
    for doc_id in ids:  # whole, on one line, as `index remove` takes it
        assert any(line.strip() == doc_id for line in screen.splitlines()), screen


def test_history_logs_every_ask_and_lists_searches_shows_and_clears(seed_settings, tmp_path):
    env = {"ASSISTANT_HISTORY_DB": str(tmp_path / "history.sqlite")}
    index = ["--index", str(seed_settings.index_dir)]
    assert run_cli("ask", *index, Q_2009, env=env).returncode == 0
    assert run_cli("ask", *index, "--lang", "da", "Hvad koster et klippekort til bussen i Odense?", env=env).returncode == 0
    assert run_cli("ask", *index, "Hvad er § 18?", env={**env, "ASSISTANT_HISTORY": "off"}).returncode == 0
    entries = json.loads(run_cli("history", "--json", env=env).stdout)["entries"]
    assert [e["question"] for e in entries] == ["Hvad koster et klippekort til bussen i Odense?", Q_2009]  # newest first
    assert entries[0]["refused"] and entries[0]["filters"] == {"lang": "da"}
    assert "144,7" in entries[1]["answer"] and entries[1]["citations"][0]["quote"] and entries[1]["time"]
    found = json.loads(run_cli("history", "-q", "144,7", "--json", env=env).stdout)["entries"]
    assert [e["id"] for e in found] == [entries[1]["id"]]
    shown = run_cli("history", "show", str(entries[1]["id"]), env=env)
    assert Q_2009 in shown.stdout and "144,7" in shown.stdout
    missing = run_cli("history", "show", "999", "--json", env=env)
    assert missing.returncode == 2 and json.loads(missing.stdout)["error"]["code"] == 2
    assert json.loads(run_cli("history", "clear", "--json", env=env).stdout) == {"cleared": 2}
    assert json.loads(run_cli("history", "--json", env=env).stdout) == {"entries": []}


def _screen(args: list[str], cols: int, env: dict | None = None, send: str | None = None) -> str:
    """What a real pseudo-terminal `cols` wide shows for `assistant ARGS` (colour codes removed)."""
    import pexpect

    e = dict(os.environ, COLUMNS=str(cols), TERM="xterm", **(env or {}))
    child = pexpect.spawn(sys.executable, ["-m", "assistant", *args], env=e, encoding="utf-8", timeout=180,
                          dimensions=(200, cols), cwd=str(ROOT))
    if send is not None:
        child.expect("›")  # the prompt: typed lines are not echoed before the banner
        child.send(send)
    child.expect(pexpect.EOF)
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", child.before).replace("\r", "")


def _words(text: str) -> list[str]:
    return text.split()


def _assert_wrapped_on_word_boundaries(screen: str, piped: str, cols: int) -> None:
    lines = [line for line in screen.splitlines() if line.strip()]
    assert all(len(line) <= cols for line in lines), [line for line in lines if len(line) > cols]
    # Every word the piped output has is on the screen whole, except paths broken after a '/', '-' or '_'.
    shown = screen.split()
    glued = " ".join(shown)
    for word in _words(piped):
        if word in shown:
            continue
        parts = re.split(r"(?<=[/_-])", word)
        assert len(parts) > 1 and all(p in glued for p in parts), f"{word!r} was cut mid-word:\n{screen}"
    # Continuation lines are indented under their item: no source line or quote starts at column 0.
    for line in lines:
        if line.startswith(("“", "(")):
            raise AssertionError(f"a continuation line is not indented: {line!r}\n{screen}")


def test_ask_wraps_answers_sources_and_quotes_on_word_boundaries(seed_settings):
    cols = 52
    args = ["ask", Q_2009, "--index", str(seed_settings.index_dir)]
    screen = _screen(args, cols)
    piped = run_cli(*args).stdout
    assert "144,7 millioner" in screen
    assert len(piped.splitlines()) < len(screen.splitlines())  # piped output is not wrapped
    _assert_wrapped_on_word_boundaries(screen, piped, cols)
    quote = next(i for i, line in enumerate(screen.splitlines()) if line.lstrip().startswith("“"))
    assert screen.splitlines()[quote + 1].startswith(" " * 7)  # the quote's next line hangs under its text


def test_see_also_after_a_refusal_wraps_on_word_boundaries(seed_settings):
    cols = 50
    args = ["ask", "Hvad siger dokumenterne om havstigning i Grønland?", "--index", str(seed_settings.index_dir)]
    screen = _screen(args, cols)
    piped = run_cli(*args).stdout
    assert "Det fremgår ikke af dokumenterne." in screen and "Se også:" in screen
    _assert_wrapped_on_word_boundaries(screen, piped, cols)


def test_chat_sources_wrap_on_word_boundaries(seed_settings, tmp_path):
    cols = 56
    args = ["chat", "--index", str(seed_settings.index_dir)]
    screen = _screen(args, cols, env=_chat_env(tmp_path), send=f"{Q_2009}\n/sources\n/exit\n")
    assert "144,7 millioner" in screen
    piped = run_cli(*args, env=_chat_env(tmp_path / "piped"), input=f"{Q_2009}\n/sources\n").stdout
    screen = "\n".join(line for line in screen.splitlines() if "›" not in line)  # not the typed input
    piped = "\n".join(line for line in piped.splitlines() if not line.startswith("»"))  # the echoed question
    _assert_wrapped_on_word_boundaries(screen, piped.replace("⟦", "").replace("⟧", ""), cols)
