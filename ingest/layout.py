"""Page furniture out, logical lines in: footnote blocks, page headers, page numbers and
bare URL lines are removed from the body; footnote texts are collected by label.

Two layouts are handled. *Hard-wrapped* text (PDF extraction, or a .txt dumped from a
PDF) keeps every printed line, so a paragraph spans many lines and footnote blocks sit at
page ends, in the middle of a paragraph. *Flowing* text (markdown, plain text) has one
paragraph per line; footnotes are lines of their own that start with their marker.
"""

from __future__ import annotations

from dataclasses import dataclass

from boussole.ingest.clean import is_url_line, superscript_to_ascii
from boussole.ingest.grammar import FLOW_NOTE_RE, HARD_NOTE_RE, PAGE_NUMBER_RE, RULE_RE, SYMBOL_LINE_RE
from boussole.ingest.readers import SourceText


@dataclass
class Line:
    """One body line, markup and footnote markers still in place."""

    text: str
    page: int | None
    after_blank: bool = False  # preceded by an empty line (a paragraph break in flowing text)
    rule_after: bool = False  # followed by a markdown rule (---)

    @property
    def stripped(self) -> str:
        return self.text.strip()


@dataclass
class Layout:
    lines: list[Line]
    notes: dict[str, str]  # footnote label ("28", "1", "*") → footnote text
    hard_wrapped: bool


def analyse_layout(source: SourceText, symbol: str | None = None) -> Layout:
    hard = source.hard_wrapped_known or _looks_hard_wrapped(source.pages[0].text)
    if hard:
        return _hard_layout(source, symbol)
    return _flow_layout(source, symbol)


def _looks_hard_wrapped(text: str) -> bool:
    """True when most lines end mid-sentence and the next line carries on in lowercase."""
    lines = [line.strip() for line in text.split("\n") if line.strip()]
    if len(lines) < 10:
        return False
    wrapped = sum(
        1 for cur, nxt in zip(lines, lines[1:]) if not cur.endswith((".", ":", ";", "!", "?")) and nxt[:1].islower()
    )
    return wrapped / len(lines) > 0.25


def _starts_like_note(text: str) -> bool:
    """Without a separator line, a footnote must start like a sentence ("28 Résolution …"),
    so that a wrapped body line such as "39 % de la population" is not taken for one."""
    return text[:1].isupper() or text[:1] in '«"“('


def _is_furniture(line: str, symbol: str | None) -> bool:
    s = line.strip()
    if PAGE_NUMBER_RE.match(s) or is_url_line(s):
        return True
    if symbol and s == symbol:
        return True
    return bool(SYMBOL_LINE_RE.match(s)) and "/" in s and " " not in s


def _flow_layout(source: SourceText, symbol: str | None) -> Layout:
    lines: list[Line] = []
    notes: dict[str, str] = {}
    for page in source.pages:
        blank = True
        for raw in page.text.split("\n"):
            if not raw.strip():
                blank = True
                continue
            if RULE_RE.match(raw):
                if lines:
                    lines[-1].rule_after = True
                blank = True
                continue
            note = FLOW_NOTE_RE.match(raw)
            if note:
                label = note.group("tag") or note.group("star") or superscript_to_ascii(note.group("sup") or "")
                notes[label.replace("\\", "")] = note.group("text").strip()
                continue  # a footnote between two halves of a paragraph does not end it
            if _is_furniture(raw, symbol):
                continue
            lines.append(Line(raw.rstrip(), page.number, after_blank=blank))
            blank = False
    return Layout(lines, notes, hard_wrapped=False)


def _hard_layout(source: SourceText, symbol: str | None) -> Layout:
    """Walk printed lines; a footnote block starts at a separator line (whitespace only) or at
    a line opening the next expected footnote, and ends with the page (page break, or a line
    indented by the text dump's page-start space)."""
    lines: list[Line] = []
    notes: dict[str, str] = {}
    next_note = 1
    for page in source.pages:
        in_notes = False
        pending = False  # saw a separator line; a footnote must follow to open the block
        current: str | None = None
        for raw in page.text.split("\n"):
            if raw == "":
                continue
            if not raw.strip():
                pending = True
                continue
            if in_notes and raw.startswith(" ") and not raw.startswith("  "):
                in_notes = False  # the text dump marks a new page with one leading space
            if is_url_line(raw) or _is_furniture(raw, symbol):
                pending = False
                continue
            note = HARD_NOTE_RE.match(raw.strip()) if not raw.startswith(" ") else None
            is_next = note is not None and (note.group("star") is not None or int(note.group("num")) == next_note)
            opens = in_notes or pending or (is_next and _starts_like_note(note.group("text")))
            if is_next and opens:
                in_notes = True
                current = note.group("num") or note.group("star")
                notes[current] = note.group("text").strip()
                if note.group("num"):
                    next_note += 1
                pending = False
                continue
            pending = False
            if in_notes:
                if current is not None:
                    notes[current] = notes[current] + " " + raw.strip()
                continue
            lines.append(Line(raw.rstrip(), page.number))
    return Layout(lines, notes, hard_wrapped=True)
