"""Read a source file into pages of raw text. One job: bytes → text, or a clear IngestError.

Structure is not touched here; `layout` and the parsers decide what the lines mean.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from boussole.ingest.errors import IngestError

TEXT_SUFFIXES = (".txt", ".md", ".markdown")
PDF_SUFFIXES = (".pdf",)
SUPPORTED_SUFFIXES = TEXT_SUFFIXES + PDF_SUFFIXES


@dataclass(frozen=True)
class Page:
    """Text of one page; `number` is 1-based for PDFs and None when pages are unknown."""

    number: int | None
    text: str


@dataclass(frozen=True)
class SourceText:
    """A read document: its pages and the format they came from."""

    path: Path
    fmt: str  # "text" | "markdown" | "pdf"
    pages: tuple[Page, ...]

    @property
    def hard_wrapped_known(self) -> bool:
        """PDF text always keeps the printed line breaks; plain files must be inspected."""
        return self.fmt == "pdf"


def read_document(path: Path) -> SourceText:
    """Read `path` (.txt, .md or .pdf). Raises IngestError naming the file and the reason."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUPPORTED_SUFFIXES:
        raise IngestError(
            str(path), f"unknown extension {suffix or '(none)'!r}; supported: {', '.join(SUPPORTED_SUFFIXES)}"
        )
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise IngestError(str(path), f"cannot read file: {exc.strerror or exc}") from exc
    if not data.strip():
        raise IngestError(str(path), "file is empty")
    if suffix in PDF_SUFFIXES:
        pages = _read_pdf(path, data)
        return SourceText(path, "pdf", pages)
    text = _decode(path, data)
    if not text.strip():
        raise IngestError(str(path), "file contains no text")
    fmt = "markdown" if suffix in (".md", ".markdown") else "text"
    return SourceText(path, fmt, (Page(None, text),))


def _decode(path: Path, data: bytes) -> str:
    """UTF-8 only (with or without BOM): guessing a legacy code page would garble accents."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise IngestError(
            str(path), f"not valid UTF-8 text (byte {exc.start}: {data[exc.start : exc.start + 1]!r})"
        ) from exc
    if "\x00" in text:
        raise IngestError(str(path), "binary content (NUL bytes) in a text file")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def _read_pdf(path: Path, data: bytes) -> tuple[Page, ...]:
    """Extract text page by page with pypdf; encrypted, corrupt or image-only PDFs are errors."""
    import io

    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            raise IngestError(str(path), "PDF is encrypted (password-protected); decrypt it first")
        pages = tuple(Page(number, page.extract_text() or "") for number, page in enumerate(reader.pages, start=1))
    except IngestError:
        raise
    except (PdfReadError, ValueError, KeyError, TypeError, OSError, AttributeError) as exc:
        raise IngestError(str(path), f"corrupt or unreadable PDF: {exc}") from exc
    if not pages:
        raise IngestError(str(path), "PDF has no pages")
    if not any(p.text.strip() for p in pages):
        raise IngestError(str(path), "PDF has no extractable text (scanned images?)")
    return pages
