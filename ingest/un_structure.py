"""Generic parser for UN-style documents (French or English): numbered paragraphs
("40."), lettered items ("b)"), roman sub-items ("ii)"), headings ("II.", "A.", "1.",
markdown "#"), tables and captions. Lines in, typed blocks out; no chunking here.

Numbers are trusted only when they continue the sequence: paragraph 41 must follow 40,
item "c)" must follow "b)". That is what separates a pillar heading "1. Prospérité
partagée" from paragraph 1, and item "i)" (after "h)") from sub-item "i)" (after a colon).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from boussole.ingest.clean import strip_markup
from boussole.ingest.grammar import (
    BOLD_LINE_RE,
    BULLET_RE,
    CAPTION_RE,
    HALF_HEADING_RE,
    ITEM_RE,
    LETTER_HEADING_RE,
    MD_HEADING_RE,
    PARA_RE,
    ROMAN_HEADING_RE,
    ROMANS,
)
from boussole.ingest.layout import Line

MAX_HEADING_CHARS = 160


@dataclass
class Block:
    """One structural unit before chunking: its raw lines and where it sits."""

    kind: str  # heading | paragraph | item | subitem | text | table
    lines: list[str]
    page: int | None
    number: str | None = None  # "40", "b", "ii"
    level: int = 0  # headings only
    section: tuple[str, ...] = ()
    paragraph: str | None = None  # for items: the numbered paragraph they belong to
    item: str | None = None  # for sub-items: their lettered item
    rows: list[list[str]] = field(default_factory=list)  # tables: cells per row
    after_blank: bool = False
    rule_after: bool = False


def heading_text(raw: str) -> str:
    return " ".join(strip_markup(raw).split()).strip(" :")


def _without_list_dash(text: str) -> str:
    """'- b) Veiller …' → 'b) Veiller …': markdown may put a list dash in front of an item's
    marker; the dash of an ordinary bullet stays."""
    dash = BULLET_RE.match(text)
    return text[dash.end() :] if dash and ITEM_RE.match(text[dash.end() :]) else text


def _is_heading_like(text: str) -> bool:
    """Short and not ending like a sentence: "1. Prospérité partagée", not "1. Le pouvoir …"."""
    t = strip_markup(text).strip()
    return 0 < len(t) <= MAX_HEADING_CHARS and not t.endswith((".", ";", ",", ":"))


class UNParser:
    """Turns `Line`s into `Block`s, tracking the heading path and numbering sequences."""

    def __init__(self, hard_wrapped: bool):
        self.hard = hard_wrapped
        self.blocks: list[Block] = []
        self.headings: list[tuple[int, str]] = []
        self.next_para = 1
        self.last_para: str | None = None
        self.next_letter = "a"
        self.last_item: Block | None = None
        self.next_roman = 0
        self.in_caption = False

    # -- helpers -------------------------------------------------------------------------
    @property
    def current(self) -> Block | None:
        return self.blocks[-1] if self.blocks else None

    def _section(self) -> tuple[str, ...]:
        return tuple(text for _, text in self.headings)

    def _open(self, kind: str, line: Line, text: str, **kw) -> Block:
        block = Block(
            kind,
            [text],
            line.page,
            section=self._section(),
            after_blank=line.after_blank,
            rule_after=line.rule_after,
            **kw,
        )
        self.blocks.append(block)
        return block

    def _heading(self, line: Line, level: int, text: str) -> None:
        while self.headings and self.headings[-1][0] >= level:
            self.headings.pop()
        title = heading_text(text)
        self.headings.append((level, title))
        self._open("heading", line, text, level=level)
        self.next_letter = "a"
        self.last_item = None

    # -- main loop -----------------------------------------------------------------------
    def parse(self, lines: list[Line]) -> list[Block]:
        for line in lines:
            self._feed(line)
        return self.blocks

    def _feed(self, line: Line) -> None:
        raw = _without_list_dash(line.stripped)
        md = MD_HEADING_RE.match(raw)
        bold = BOLD_LINE_RE.match(raw)
        plain = heading_text(md.group(2)) if md else (heading_text(bold.group(1)) if bold else raw)

        if self.in_caption and not self._structural(raw, plain):
            return
        self.in_caption = False
        if CAPTION_RE.match(raw):
            self.in_caption = True
            return
        if "\t" in line.text:
            self._table_row(line, line.text.strip(" \n"))  # keep leading tabs: empty first cells
            return
        if HALF_HEADING_RE.match(plain):
            self._heading(line, 4, plain)
            return
        roman = ROMAN_HEADING_RE.match(plain)
        if roman and _is_heading_like(plain):
            self._heading(line, 1, plain)
            return
        letter = LETTER_HEADING_RE.match(plain)
        if letter and _is_heading_like(plain) and (md or bold or len(plain) < 100):
            self._heading(line, 2, plain)
            return
        para = PARA_RE.match(raw)
        if para and not md:
            number = int(para.group(1))
            if number == self.next_para or (
                self.next_para < number <= self.next_para + 2 and not _is_heading_like(raw)
            ):
                self._paragraph(line, number, raw[para.end() :])
                return
            if _is_heading_like(raw) and not bold:
                self._heading(line, 3, plain)
                return
        if md:
            self._heading(line, min(len(md.group(1)), 6) + 1, plain)
            return
        item = ITEM_RE.match(raw)
        if item and self._item(line, item.group(1), raw[item.end() :]):
            return
        self._text(line, raw)

    def _structural(self, raw: str, plain: str) -> bool:
        para = PARA_RE.match(raw)
        return bool(
            (para and int(para.group(1)) == self.next_para)
            or HALF_HEADING_RE.match(plain)
            or ROMAN_HEADING_RE.match(plain)
            or LETTER_HEADING_RE.match(plain)
            or MD_HEADING_RE.match(raw)
            or "\t" in raw
            or (ITEM_RE.match(raw) and ITEM_RE.match(raw).group(1) == self.next_letter)
        )

    def _paragraph(self, line: Line, number: int, text: str) -> None:
        self.next_para = number + 1
        self.last_para = str(number)
        self.next_letter = "a"
        self.last_item = None
        self._open("paragraph", line, text, number=str(number))

    def _item(self, line: Line, token: str, text: str) -> bool:
        last = self.last_item
        if (
            last is not None
            and token in ROMANS
            and ROMANS.index(token) == self.next_roman
            and (self.next_roman > 0 or strip_markup(" ".join(last.lines)).rstrip().endswith(":"))
        ):
            self.next_roman += 1
            self._open("subitem", line, text, number=token, paragraph=last.paragraph, item=last.number)
            return True
        if len(token) == 1 and token == self.next_letter:
            self.next_letter = chr(ord(token) + 1)
            self.next_roman = 0
            self.last_item = self._open("item", line, text, number=token, paragraph=self.last_para)
            return True
        return False

    def _text(self, line: Line, raw: str) -> None:
        cur = self.current
        continues = (
            cur is not None
            and cur.kind != "table"
            and (
                (self.hard and cur.kind != "heading")
                or raw[:1].islower()
                or (cur.kind == "heading" and raw[:1].islower())
            )
        )
        if continues:
            cur.lines.append(raw)
            if cur.kind == "heading" and self.headings:  # a heading wrapped onto two lines
                self.headings[-1] = (self.headings[-1][0], heading_text(" ".join(cur.lines)))
            cur.rule_after = cur.rule_after or line.rule_after
        else:
            self._open("text", line, raw)

    def _table_row(self, line: Line, raw: str) -> None:
        cells = [c.strip() for c in raw.split("\t")]
        cur = self.current
        if cur is None or cur.kind != "table":
            cur = self._open("table", line, raw)
            cur.rows.append(cells)  # the first row is the header
            return
        if [heading_text(c) for c in cells] == [heading_text(c) for c in cur.rows[0]]:
            return  # header repeated after a page break
        if cells and not cells[0] and cur.rows:
            # continuation of the previous row across a page break: glue cell by cell
            prev = cur.rows[-1] if len(cur.rows) > 1 else None
            if prev is not None:
                for i, cell in enumerate(cells):
                    if cell and i < len(prev):
                        prev[i] = (prev[i] + " " + cell).strip()
                    elif cell:
                        prev.append(cell)
                return
        cur.rows.append(cells)
        cur.lines.append(raw)


def parse_blocks(lines: list[Line], hard_wrapped: bool) -> list[Block]:
    return UNParser(hard_wrapped).parse(lines)
