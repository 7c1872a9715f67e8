"""Read a PDF the way a person's tools would: poppler's pdftotext and pdfinfo."""

from __future__ import annotations

import re
import subprocess
import tempfile
from pathlib import Path


def _run(tool: str, pdf: bytes, *args: str) -> str:
    with tempfile.NamedTemporaryFile(suffix=".pdf") as handle:
        handle.write(pdf)
        handle.flush()
        return subprocess.run(
            [tool, *args, handle.name, *(["-"] if tool == "pdftotext" else [])],
            check=True,
            capture_output=True,
            text=True,
        ).stdout


def text(pdf: bytes) -> str:
    return _run("pdftotext", pdf, "-enc", "UTF-8")


def compact(value: str) -> str:
    """Text without whitespace. pdftotext puts a space where a Devanagari vowel sign
    below a letter leaves a gap (कुमार -> कु मार, measured in docs/printing.md); the
    characters and their order are what the text layer must get right."""
    return re.sub(r"\s+", "", value)


def page_size_mm(pdf: bytes) -> tuple[float, float]:
    info = _run("pdfinfo", pdf)
    match = re.search(r"Page size:\s+([\d.]+) x ([\d.]+) pts", info)
    assert match, info
    return tuple(round(float(v) * 25.4 / 72, 1) for v in match.groups())  # type: ignore[return-value]


def pages(pdf: bytes) -> int:
    return int(re.search(r"Pages:\s+(\d+)", _run("pdfinfo", pdf)).group(1))  # type: ignore[union-attr]


def save_png(pdf: bytes, out: Path) -> Path:
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "in.pdf"
        source.write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-r", "110", "-png", "-singlefile", str(source), str(out.with_suffix(""))],
            check=True,
        )
    return out
