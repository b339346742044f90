"""Terminal rendering for people (rich tables, colours only on a TTY) and JSON for scripts."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from .prompts import labels

console = Console(highlight=False, soft_wrap=True)
PIPED_WIDTH = 1000  # a table piped to a file or another program is as wide as its rows, not 80 columns
err_console = Console(stderr=True, highlight=False, soft_wrap=True)


def print_json(obj: object) -> None:
    """One JSON object on stdout (UTF-8, not escaped)."""
    sys.stdout.write(json.dumps(obj, ensure_ascii=False, indent=2) + "\n")
    sys.stdout.flush()


def error(message: str) -> None:
    """A one-line error on stderr."""
    err_console.print(f"[bold red]error:[/] {escape(message)}")


def error_json(code: int, message: str) -> None:
    """An error as one JSON object on stdout, for `--json`: {"error": {"code", "message"}}."""
    sys.stdout.write(json.dumps({"error": {"code": code, "message": message}}, ensure_ascii=False) + "\n")
    sys.stdout.flush()


def usage_error(exc) -> None:
    """A Typer/Click usage error as Typer shows it (usage line and a framed message on stderr)."""
    try:
        from typer import rich_utils

        rich_utils.rich_format_error(exc)
    except ImportError:  # pragma: no cover - Typer without rich
        exc.show()


def line_breaks(plain: str, first: int, rest: int) -> list[tuple[int, int]]:
    """(start, end) of each line when `plain` is wrapped to `first` columns, then `rest`: at spaces; a word
    longer than a line (a path) breaks after its last '/', '-' or '_' that fits, or folds when it has none."""
    lines: list[tuple[int, int]] = []
    start, width, n = 0, max(1, first), len(plain)
    while n - start > width:
        seg = plain[start : start + width + 1]
        cut = seg.rfind(" ")
        if cut > 0 and seg[:cut].strip():
            end, nxt = start + cut, start + cut
            while nxt < n and plain[nxt] == " ":
                nxt += 1
            while end > start and plain[end - 1] == " ":
                end -= 1
        else:
            seg = plain[start : start + width]
            c = max(seg.rfind("/"), seg.rfind("-"), seg.rfind("_"))
            end = nxt = start + (c + 1 if c > len(seg) - len(seg.lstrip()) else width)
        lines.append((start, end))
        start, width = nxt, max(1, rest)
    lines.append((start, n))
    return lines


def wrapped(markup: str | Text, indent: int | None = None) -> None:
    """Print on a terminal wrapped at word boundaries to its width, continuation lines indented by `indent`
    (by default as far as the first line is).

    Piped output stays one line per item (scripts and `grep` see whole lines).
    """
    text = Text.from_markup(markup) if isinstance(markup, str) else markup
    if not console.is_terminal:
        console.print(text, soft_wrap=True)
        return
    width = max(20, console.width)
    if indent is None:
        indent = len(text.plain) - len(text.plain.lstrip(" "))
    indent = min(indent, width // 2)
    for i, (a, b) in enumerate(line_breaks(text.plain, width, width - indent)):
        line = text[a:b]
        console.print(Text(" " * indent) + line if i else line, soft_wrap=True)


def hint(message: str) -> None:
    """A faint note on stderr (not part of the output)."""
    err_console.print(f"[dim]{escape(message)}[/]")


def info(message: str) -> None:
    """A one-line note on stdout."""
    console.print(escape(message))


INGEST_STEPS = {
    "model": "Loading the embedding model",
    "commit": "Committing the finished documents",
    "refresh": "Updating the keyword index and the dense mirror",
    "cleanup": "Removing vectors no document uses any more",
    "stopping": "Stopping: keeping the documents finished so far (Ctrl-C again stops at once and keeps only committed batches)",
}


@contextmanager
def ingest_progress(enabled: bool = True) -> Iterator:
    """Ingest progress on stderr: files checked, then one bar of documents (chunks so far beside it, time
    left), and a line naming each step after it (commit, keyword index and mirror, clean-up)."""
    if not enabled or not err_console.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeRemainingColumn

    with Progress(
        SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[count]}"),
        TextColumn("{task.fields[extra]}"), TimeRemainingColumn(), console=err_console, transient=True,
    ) as bar:
        tasks: dict[str, int] = {}
        chunks = 0

        def task(name: str, description: str, total: float | None) -> int:
            if name not in tasks:
                tasks[name] = bar.add_task(description, total=total, extra="", count="")
            return tasks[name]

        def update(phase: str, done: int, total: int) -> None:
            nonlocal chunks
            if phase == "check":
                bar.update(task("check", "Checking files", total), completed=done, total=total, count=f"{done}/{total}")
            elif phase == "load":
                if "check" in tasks:
                    bar.update(tasks["check"], visible=False)
                if "step" in tasks:
                    bar.update(tasks["step"], visible=False)
                if "load" in tasks:
                    bar.update(tasks["load"], visible=True)
                bar.update(task("load", "Documents", total), completed=done, total=total, count=f"{done}/{total}",
                           extra=f"{chunks} chunks" if chunks else "")
            elif phase == "embed":
                chunks = done
                if "load" in tasks:
                    bar.update(tasks["load"], extra=f"{chunks} chunks", visible=True)
                if "step" in tasks:
                    bar.update(tasks["step"], visible=False)
            else:
                for t in ("check", "load"):
                    if t in tasks:
                        bar.update(tasks[t], visible=False)
                bar.update(task("step", "", None), description=INGEST_STEPS.get(phase, phase), visible=True)

        yield update


def ingest_summary(report, index_dir: Path) -> None:
    """The table printed after an ingest."""
    t = Table(title=f"Ingest into {index_dir}", show_header=False, title_justify="left")
    t.add_column(style="bold")
    t.add_column(justify="right")
    for key in ("added", "updated", "removed", "unchanged"):
        t.add_row(f"documents {key}", str(getattr(report, key)))
    t.add_row("chunks written", f"{report.chunks} ({report.embedded} embedded)")
    if getattr(report, "reanalysed", 0):
        t.add_row("keyword terms re-analysed", f"{report.reanalysed} chunks (new analyzer)")
    t.add_row("skipped", str(len(report.skipped)))
    t.add_row("failed", f"[red]{len(report.failed)}[/]" if report.failed else "0")
    t.add_row("index now", f"{report.total_documents} documents, {report.total_chunks} chunks")
    t.add_row("seconds", f"{report.seconds:.1f}")
    console.print(t)
    for f in report.skipped:
        console.print(f"[yellow]skipped[/] {escape(f['source'])}: {escape(f['reason'])}")
    for f in report.failed:
        console.print(f"[red]failed[/]  {escape(f['source'])}: {escape(' '.join(f['reason'].split()))}")
    for d in getattr(report, "duplicates", []):
        console.print(f"[cyan]duplicate[/] {escape(d['source'])}: same text as {escape(d['duplicate_of'])} (stored once)")
    for d in getattr(report, "near_duplicates", []):
        console.print(f"[cyan]near-duplicate[/] {escape(d['a'])} ~ {escape(d['b'])} ({d['similarity']:.2f})")


def _where(c, lab: dict) -> str:
    page = f", {lab['page']} {c.page}" if c.page else ""
    return f"{c.title} ({c.source}{page})"


def answer(ans) -> None:
    """An answer, its coverage and its numbered sources with exact quotes."""
    lab = labels(ans.language)
    if ans.searched and ans.searched != ans.question:
        console.print(f"[dim]{lab['searched']}: {escape(ans.searched)}[/]")
    for c in getattr(ans, "flagged", []):
        warning(f"{c.source}{f' p. {c.page}' if c.page else ''} holds text that gives commands to the reader; "
                f"it was not used: “{_short(c.quote, 80)}”")
    if ans.refused:
        console.print(f"[bold yellow]{escape(ans.answer)}[/]")
        if ans.see_also:
            console.print(f"\n[bold]{lab['see_also']}:[/]")
            for c in ans.see_also:
                wrapped(f"  [dim]-[/] {escape(_where(c, lab))}", indent=4)
                wrapped(f"    [dim]{escape(_short(c.quote, 240))}[/]")
        return
    wrapped(escape(ans.answer))
    if ans.unsupported:
        console.print(f"[dim]({len(ans.unsupported)} unsupported sentence(s) removed)[/]")
    console.print(f"[dim]{lab['coverage']}: {ans.coverage_label()}[/]")
    console.print(f"\n[bold]{lab['sources']}:[/]")
    for c in ans.citations:
        wrapped(f"  [bold cyan][{c.n}][/] {escape(_where(c, lab))}", indent=6)
        wrapped(f"      “{escape(' '.join(c.quote.split()))}”", indent=7)


def _short(text: str, n: int) -> str:
    t = " ".join(text.split())
    return t if len(t) <= n else t[: n - 1] + "…"


def hit_json(h) -> dict:
    """A search hit in the `assistant search --json` shape."""
    c = h.chunk
    return {
        "rank": h.rank, "doc_id": c.doc_id, "source": c.source, "title": c.title, "page": c.page,
        "start": c.start, "end": c.end, "text": c.text, "score": round(h.score, 6),
        "dense": None if h.dense is None else round(h.dense, 6),
        "keyword": None if h.keyword is None else round(h.keyword, 6),
    }


def hits(results) -> None:
    """Ranked passages as a table."""
    if not results:
        console.print("no passages found")
        return
    t = Table(show_lines=True)
    t.add_column("#", justify="right")
    t.add_column("document", overflow="fold")  # a path is folded, never cut with an ellipsis
    t.add_column("page", justify="right")
    t.add_column("passage")
    t.add_column("score", justify="right")
    for h in results:
        c = h.chunk
        t.add_row(str(h.rank), escape(f"{c.title}\n{c.source}"), str(c.page or "–"), escape(_short(c.text, 300)), f"{h.score:.4f}")
    console.print(t)


def status(s: dict) -> None:
    """The index status as a two-column table."""
    t = Table(show_header=False, title="Index", title_justify="left")
    t.add_column(style="bold")
    t.add_column()
    for key in ("path", "documents", "chunks", "model", "dim", "chroma", "last_ingest"):
        t.add_row(key, escape(str(s[key])) if s.get(key) is not None else "–")  # an empty index has no model yet
    t.add_row("languages", ", ".join(f"{k}: {v}" for k, v in sorted(s.get("languages", {}).items())))
    t.add_row("types", ", ".join(f"{k}: {v}" for k, v in sorted(s.get("types", {}).items())))
    if s.get("ocr_documents"):
        n = s["ocr_documents"]
        t.add_row("ocr", f"{n} document{'s' if n != 1 else ''} read by OCR (scanned)")
    if s.get("team"):  # a team server's index: this client's cache and how current it is
        t.add_row("team index", escape(f"{s.get('collection')} on {s.get('chroma')}"))
        t.add_row("generation", escape(f"server {s.get('server_generation')}, this cache {s.get('cache_generation')}"))
        last = s.get("last_sync") or {}
        if last:
            how = "full rebuild" if last.get("full") else "incremental"
            t.add_row("last catch-up", escape(
                f"{last.get('at')}: generation {last.get('from')} → {last.get('to')}, {how}, "
                f"{last.get('documents_fetched')} document(s) and {last.get('chunks_fetched')} chunk vector(s) fetched "
                f"in {last.get('seconds')} s"))
    if s.get("analyzer") != s.get("analyzer_current"):
        t.add_row("keyword terms", f"[yellow]analyzer {escape(str(s.get('analyzer')))}, current is "
                  f"{escape(str(s.get('analyzer_current')))}: run assistant ingest to re-analyse (nothing is re-embedded)[/]")
    for dup in s.get("near_duplicates", []):
        t.add_row("near-duplicate", escape(f"{dup['a']} ~ {dup['b']} ({dup['similarity']:.2f})"))
    for dup in s.get("duplicates", []):
        t.add_row("duplicate", escape(f"{dup['source']} = {dup['duplicate_of']} (stored once)"))
    console.print(t)


def documents(rows: list[dict]) -> None:
    """The documents in the index as a table."""
    out = console if console.is_terminal else Console(highlight=False, width=PIPED_WIDTH)  # piped: whole doc ids
    cells = [[escape(str(r[c] if r[c] is not None else "–")) for c in ("doc_id", "language", "type", "date", "chunks", "title")]
             for r in rows]
    for row, r in zip(cells, rows):
        if r.get("ocr"):
            row[5] += " (OCR)"  # a scan: its text was read by OCR
    widest = max((len(str(r["doc_id"])) for r in rows), default=6)
    if widest + 40 > out.width:  # too narrow for a table with whole ids (`index remove` takes them): a list
        for doc_id, lang, kind, date, chunks, title in cells:
            out.print(f"[bold]{doc_id}[/]", no_wrap=True, overflow="ignore", crop=False)
            out.print(f"  {lang} · {kind} · {date} · {chunks} chunks · {title}")
        return
    t = Table()
    for col in ("doc_id", "language", "type", "date", "chunks", "title"):
        if col == "doc_id":  # never cut: the other columns fold instead
            t.add_column(col, no_wrap=True, min_width=widest)
        else:
            t.add_column(col, justify="right" if col == "chunks" else "left", overflow="fold")
    for row in cells:
        t.add_row(*row)
    out.print(t)


@contextmanager
def count_progress(label: str, enabled: bool = True) -> Iterator:
    """A progress bar for a counted loop; yields a callback (done, total)."""
    if not enabled or not err_console.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), console=err_console, transient=True) as bar:
        task = bar.add_task(label, total=None)

        def update(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        yield update


def metrics_table(title: str, groups: dict[str, dict], metrics: list[str]) -> Table:
    """A table of metrics (rows) by group (columns: overall, languages, kinds); floats to three decimals."""
    t = Table(title=title, title_justify="left")
    t.add_column("metric")
    for g in groups:
        t.add_column(g, justify="right")
    for m in metrics:
        vals = [groups[g].get(m) for g in groups]
        t.add_row(m, *("–" if v is None else (f"{v:.3f}" if isinstance(v, float) else str(v)) for v in vals))
    return t


def eval_results(results: dict, comparison: list[dict] | None, written: list) -> None:
    """The evaluation table per language, and the baseline comparison."""
    agg = results["aggregate"]
    console.print(metrics_table("Evaluation", agg, list(agg["overall"])))
    if comparison:
        c = Table(title="Current / Baseline / Delta (overall)", title_justify="left")
        for col in ("metric", "current", "baseline", "delta"):
            c.add_column(col, justify="left" if col == "metric" else "right")
        for r in comparison:
            if r["group"] != "overall":
                continue
            style = "red" if r["worse"] else ("green" if r["delta"] > 0 and "latency" not in r["metric"] else "")
            delta = f"[{style}]{r['delta']:+.3f}[/]" if style else f"{r['delta']:+.3f}"
            c.add_row(r["metric"], f"{r['current']:.3f}", f"{r['baseline']:.3f}", delta)
        console.print(c)
        worse = [r for r in comparison if r["worse"]]
        if worse:
            console.print(f"[red]{len(worse)} metric(s) worse than the baseline (any group)[/]")
    console.print("[dim]wrote " + ", ".join(str(p) for p in written) + "[/]")


def warning(message: str) -> None:
    """A one-line warning on stderr (e.g. the chat model was unreachable and the extractive answer follows)."""
    err_console.print(f"[bold yellow]warning:[/] {escape(message)}")


@contextmanager
def answer_stream(enabled: bool = True) -> Iterator:
    """Show a chat model's answer as it streams (on a TTY only); yields the on_token callback or None.

    The draft is not yet checked, so it is shown dimmed (from its first token on) and erased when the
    stream ends; the checked answer is printed after it.
    """
    if not enabled or not console.is_terminal:
        yield None
        return
    import time

    from rich.console import Group
    from rich.live import Live
    from rich.text import Text

    draft = Text(style="dim")
    live = Live(Group(Text("draft, being checked …", style="italic dim"), draft),
                console=console, transient=True, auto_refresh=False)
    last = 0.0

    def on_token(text: str) -> None:
        nonlocal last
        if not live.is_started:
            live.start()
        draft.append(text)
        now = time.monotonic()
        if now - last >= 0.05:
            live.refresh()
            last = now

    try:
        yield on_token
    finally:
        if live.is_started:
            live.stop()


# --- assistant chat -----------------------------------------------------------------------------------


def _passage_text(p, mark: bool) -> object:
    """A passage as rich Text with its quotes highlighted (bracketed with ⟦ ⟧ when there are no colours)."""
    from rich.text import Text

    body = p.text
    marks = sorted((max(0, s), min(len(body), e)) for _, s, e in (p.marks or [(p.n, p.quote_start, p.quote_end)]))
    if mark:
        t = Text(body)
        for qs, qe in marks:
            t.stylize("bold yellow", qs, qe)
        return t
    for qs, qe in reversed(marks):
        body = body[:qs] + "⟦" + body[qs:qe] + "⟧" + body[qe:]
    return Text(body)


class ChatView:
    """What `assistant chat` prints for people: answers like `ask`, passages, notes and errors."""

    def __init__(self, echo: bool = False) -> None:
        self.echo = echo  # piped input: repeat each question above its answer

    def show(self, reply, chat) -> None:
        """One reply of the chat (an answer or a command's result)."""
        kind = reply.kind
        if kind == "answer":
            if self.echo:
                console.print(f"[bold]» {escape(reply.answer.question)}[/]")
            for note in reply.notes:
                wrapped(f"[dim]{escape(note)}[/]")
            answer(reply.answer)
            console.print()
        elif kind in ("sources", "open"):
            lab = labels(reply.passages[0].language if reply.passages else "en")
            for p in reply.passages:
                page = f", {lab['page']} {p.page}" if p.page else ""
                ns = "".join(f"[{n}]" for n, _, _ in p.marks) or f"[{p.n}]"
                wrapped(f"[bold cyan]{escape(ns)}[/] [bold]{escape(p.title)}[/] [dim]({escape(p.source)}{page}, {p.start}–{p.end})[/]", indent=4)
                if kind == "open" and p.start > 0:
                    console.print("[dim]…[/]")
                for para in _passage_text(p, console.is_terminal).split("\n"):
                    wrapped(para)
                if kind == "open":
                    console.print("[dim]…[/]")
                console.print()
        elif kind == "filters":
            f = reply.filters
            console.print(f"[dim]filters:[/] {escape(f.describe())}" if f is not None and f.active() else "[dim]filters: none[/]")
        elif kind == "help":
            console.print(escape(reply.message))
        elif kind == "clear":
            if console.is_terminal:  # at a terminal `clear` also clears the screen, as in a shell
                console.clear()
            console.print(f"[dim]{escape(reply.message)}[/]")
        else:
            console.print(f"[dim]{escape(reply.message)}[/]")

    def error(self, message: str, chat=None) -> None:
        """A problem with one line of input; the chat goes on."""
        error(message)

    def cancelled(self) -> None:
        """Ctrl-C stopped an answer."""
        console.print("[dim]cancelled[/]")

    def streaming(self, chat):
        """The on_token context for the next answer: a live draft when a chat model streams."""
        from contextlib import nullcontext

        if chat.llm and getattr(chat.answerer, "streams", False):
            return answer_stream(enabled=True)
        return nullcontext(None)


class ChatJsonView(ChatView):
    """Piped `assistant chat --json`: one JSON object per answer (and per command) per line."""

    def show(self, reply, chat) -> None:
        """The reply as one line of JSON."""
        sys.stdout.write(json.dumps(reply.to_json(chat.session_id), ensure_ascii=False) + "\n")
        sys.stdout.flush()

    def error(self, message: str, chat=None) -> None:
        """A problem with one line of input: {"session", "error"} on stdout, so each such line gets its line; also on stderr."""
        line = {"session": getattr(chat, "session_id", None), "error": message}
        sys.stdout.write(json.dumps(line, ensure_ascii=False) + "\n")
        sys.stdout.flush()
        error(message)

    def cancelled(self) -> None:
        """Nothing to print."""

    def streaming(self, chat):
        """No streaming in JSON mode."""
        from contextlib import nullcontext

        return nullcontext(None)


def chat_banner(chat, resumed=None) -> None:
    """The first lines of an interactive chat."""
    if resumed is not None:
        console.print(f"[dim]resumed session {resumed.id} ({resumed.turns} turn(s)): {escape(resumed.title)}[/]")
    mode = "LLM" if chat.llm else "extractive"
    filt = chat.filters.describe() if chat.filters.active() else "none"
    wrapped(f"[dim]Policy assistant chat · {mode} answers · filters: {escape(filt)} · /help for commands, Ctrl-D to leave[/]")


def chat_sessions(sessions) -> None:
    """The stored chat sessions as a table."""
    if not sessions:
        console.print("no stored chat sessions")
        return
    t = Table()
    for col in ("id", "updated", "turns", "filters", "first question"):
        t.add_column(col, justify="right" if col in ("id", "turns") else "left")
    for s in sessions:
        filt = " ".join(f"{k}={v}" for k, v in s.filters.items()) or "–"
        t.add_row(str(s.id), s.updated[:16].replace("T", " "), str(s.turns), escape(filt), escape(_short(s.title, 70)))
    console.print(t)


def config_report(report: dict) -> None:
    """`assistant config`: the settings and the paths, each with where its value came from."""
    out = console if console.is_terminal else Console(highlight=False, width=PIPED_WIDTH)  # piped: whole paths
    cfg = report["config_file"]
    if cfg["path"]:
        out.print(f"[bold]config file:[/] {escape(cfg['path'])} [dim](from {escape(cfg['source'])})[/]")
    else:
        out.print("[bold]config file:[/] none [dim](looked for " + escape(", ".join(cfg["searched"])) + ")[/]")
    t = Table(title="Settings", title_justify="left")
    for col in ("setting", "value", "from", "env var"):
        t.add_column(col)
    for key, e in report["settings"].items():
        if "set" in e:  # a secret: only whether it is set
            value = "set (not shown)" if e["set"] else "not set"
        else:
            value = "–" if e["value"] is None else str(e["value"])
        t.add_row(key, escape(value), escape(e["source"]), f"[dim]{escape(e.get('env') or '–')}[/]")
    out.print(t)
    p = Table(title="Paths read or written", title_justify="left")
    for col in ("what", "path", "use", "from"):
        p.add_column(col)
    for e in report["paths"]:
        path = escape(e["path"]) + ("" if e["exists"] else " [dim](absent)[/]")
        p.add_row(escape(e["name"]), path, escape(e["access"]), escape(e["source"]))
    out.print(p)


def history_entries(entries: list[dict]) -> None:
    """Past questions as a table, newest first."""
    if not entries:
        info("the history is empty")
        return
    t = Table()
    for col in ("id", "time", "question", "answer"):
        t.add_column(col, no_wrap=col in ("id", "time"), overflow="fold")
    for e in entries:
        answer = ("(refused) " if e["refused"] else "") + _short(e["answer"], 160)
        t.add_row(str(e["id"]), e["time"].replace("T", " ")[:19], escape(e["question"]), escape(answer))
    console.print(t)


def history_entry(e: dict) -> None:
    """One past question with its answer and sources."""
    console.print(f"[dim]#{e['id']} · {e['time']} · {escape(e['index'] or '')}[/]")
    console.print(f"[bold]{escape(e['question'])}[/]")
    console.print(escape(e["answer"]) if not e["refused"] else f"[bold yellow]{escape(e['answer'])}[/]")
    if e.get("refusal_reason"):
        console.print(f"[dim]({escape(e['refusal_reason'])})[/]")
    for c in e.get("citations", []):
        page = f", p. {c['page']}" if c.get("page") else ""
        console.print(f"  [bold cyan][{c['n']}][/] {escape(c['title'])} ({escape(c['source'])}{page})")
        console.print(f"      “{escape(' '.join(c['quote'].split()))}”")


def conversation_results(results: dict, written: list) -> None:
    """Follow-up scores per language and kind, and each conversation's last turn as it was searched."""
    out = console if console.is_terminal else Console(highlight=False, width=PIPED_WIDTH)  # piped: whole rows
    agg, kinds = results["aggregate"], results.get("by_kind", {})
    cfg = results["config"]
    out.print(metrics_table(f"Follow-ups in chat ({cfg['split']} split, {cfg['conversations']} conversations)",
                            {**agg, **kinds}, list(agg["overall"])))
    rows = Table(title="Last turns", title_justify="left")
    for col in ("id", "follow-up", "terms", "gold", "facts", "ok", "searched"):
        rows.add_column(col, justify="right" if col in ("terms", "gold", "facts") else "left",
                        overflow="fold", no_wrap=col == "id")
    for r in results["conversations"]:
        fu = ("yes" if r["followup"] else "no") + ("" if r["followup_accuracy"] else " [red]✗[/]")
        gold = "–" if r["gold_cited"] is None else ("yes" if r["gold_cited"] else "[red]no[/]")
        facts = "–" if r["fact_recall"] is None else f"{r['fact_recall']:.2f}"
        ok = "[green]yes[/]" if r["answer_accuracy"] else "[red]no[/]"
        if r["refused"]:
            ok += " (refused)"
        rows.add_row(r["id"], fu, f"{r['term_recall']:.2f}", gold, facts, ok, escape(r["searched"]))
    out.print(rows)
    out.print("[dim]wrote " + ", ".join(str(p) for p in written) + "[/]")
