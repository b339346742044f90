"""Reading scanned PDF pages with Tesseract, when it is installed (the `tesseract` program with dan and swe data)."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from functools import lru_cache
from pathlib import Path

INSTALL_HINT = "apt-get install tesseract-ocr tesseract-ocr-dan tesseract-ocr-swe"
WANTED = ("dan", "swe", "eng")
DPI = 300
TIMEOUT_S = 120  # one page


@lru_cache(maxsize=1)
def ocr_languages() -> str | None:
    """The Tesseract language argument ("dan+swe+eng") for the data installed, or None without Tesseract."""
    exe = shutil.which("tesseract")
    if not exe:
        return None
    try:
        out = subprocess.run([exe, "--list-langs"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return None
    have = {ln.strip() for ln in (out.stdout + out.stderr).splitlines()}
    langs = [lang for lang in WANTED if lang in have]
    return "+".join(langs) if langs else None


def ocr_page(pdf_bytes: bytes, index: int, first: str = "dan") -> list[tuple[str, float]]:
    """The lines Tesseract reads on one page (0-based) of a PDF, each with its height in pixels at DPI.

    `first` is the language Tesseract tries first (it reads "ö" as "o" when Danish comes first, "ø" badly when
    Swedish does). Raises OSError when the page cannot be rendered or Tesseract fails.
    """
    import pypdfium2 as pdfium

    langs = ocr_languages()
    if not langs:
        raise OSError("no OCR engine")
    if first in langs.split("+"):
        langs = "+".join([first] + [lang for lang in langs.split("+") if lang != first])
    doc = pdfium.PdfDocument(pdf_bytes)
    try:
        image = doc[index].render(scale=DPI / 72).to_pil().convert("L")
    finally:
        doc.close()
    with tempfile.TemporaryDirectory(prefix="assistant-ocr-") as tmp:
        png = Path(tmp) / "page.png"
        image.save(png)
        try:
            run = subprocess.run(["tesseract", str(png), "stdout", "-l", langs, "tsv"],
                                 capture_output=True, text=True, timeout=TIMEOUT_S)
        except subprocess.SubprocessError as exc:
            raise OSError(f"tesseract: {exc}") from None
    if run.returncode != 0:
        raise OSError(f"tesseract: {run.stderr.strip()[:200]}")
    return _tsv_lines(run.stdout)


def _tsv_lines(tsv: str) -> list[tuple[str, float]]:
    """Tesseract's TSV words gathered into lines (block, paragraph, line), with the line's median word height.

    A blank line is put between blocks and paragraphs, so paragraphs stay apart.
    """
    lines: dict[tuple[int, int, int], list[tuple[int, str, int]]] = {}
    for row in tsv.splitlines()[1:]:
        f = row.split("\t")
        if len(f) < 12 or f[0] != "5" or not f[11].strip():
            continue
        key = (int(f[2]), int(f[3]), int(f[4]))
        lines.setdefault(key, []).append((int(f[6]), f[11], int(f[9])))
    out: list[tuple[str, float]] = []
    last = None
    for key in sorted(lines):
        words = sorted(lines[key])
        if last is not None and key[:2] != last[:2]:
            out.append(("", 0.0))
        heights = sorted(h for _, _, h in words)
        out.append((" ".join(w for _, w, _ in words), float(heights[len(heights) // 2])))
        last = key
    return out
