"""Find the passage a citation points to, in a document's source text, as a reader would.

A citation is only useful if a reader holding the printed document can find the passage
from what the citation says: a paragraph number and item letter, a pillar and principle
letter, a glossary term, a step and measure number, a preambular clause, a table row, a
conference section. `locate` does exactly that, using nothing but the citation and the
source text (no chunk ids, no parser state), so a test can check every chunk's citation
against the document.

Known wordings (French documents first, then English ones):

    para. 40 (b) · para. 4 (a) (ii) · para. 20
    pilier thématique 1 (Prospérité partagée), principe a), après le para. 31
        / thematic pillar 1 (Shared prosperity), principle (a), after para. 31
    annexe (glossaire) : Cybersécurité / annex (glossary): Cybersecurity
    étape de mise en œuvre 1, mesure 1.1 / implementation step 1, measure 1.1
    préambule, alinéa 5 / preamble, paragraph 5
    tableau « Titre », ligne 3 : Libellé / table "Title", row 3: Label
    <section>[, 2e paragraphe][ — <speaker>]   (documents without numbered paragraphs)
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

from boussole.ingest.clean import is_url_line, strip_markup
from boussole.ingest.grammar import (
    BOLD_LINE_RE,
    BULLET_RE,
    CAPTION_RE,
    ENABLING_RE,
    ENACTING_RE,
    GLOSSARY_HEADER_RE,
    GLOSSARY_RE,
    HALF_HEADING_RE,
    HEADING_TOKEN_RE,
    ITEM_RE,
    MAX_TERM_LINE,
    MAX_TERM_WORDS,
    MD_HEADING_RE,
    PARA_RE,
    PRINCIPLES_RE,
    ROMANS,
    STEP_MEASURE_RE,
    STEP_RE,
    STEP_TABLE_HEADER_RE,
    SYMBOL_LINE_RE,
    THEMATIC_RE,
)


class CitationError(ValueError):
    """The citation cannot be read, or the passage it names is not in the source."""


@dataclass(frozen=True)
class Span:
    """Character offsets [start, end) of the cited passage in the source text."""

    start: int
    end: int


# -- what a citation says ----------------------------------------------------------------
PARA_CITE_RE = re.compile(r", para\. (?P<para>\d+)(?: \((?P<item>[a-z])\))?(?: \((?P<sub>[ivx]+)\))?$")
PRINCIPLE_CITE_RE = re.compile(
    r", (?:pilier (?P<fr>thématique|habilitant)|(?P<en>thematic|enabling) pillar) (?P<pillar>\d+) \([^)]*\), "
    r"(?:principe (?P<l_fr>[a-z])\)|principle \((?P<l_en>[a-z])\)), (?:après le|after) para\. (?P<para>\d+)$"
)
GLOSSARY_CITE_RE = re.compile(r", (?:annexe \(glossaire\) :|annex \(glossary\):) (?P<term>.+)$")
STEP_CITE_RE = re.compile(
    r", (?:étape de mise en œuvre|implementation step) (?P<step>\d+), (?:mesure|measure) (?P<measure>\d+\.\d+)$"
)
PREAMBLE_CITE_RE = re.compile(r", (?:préambule, alinéa|preamble, paragraph) (?P<n>\d+)$")
TABLE_CITE_RE = re.compile(
    r", (?:tableau|table)(?: [«\"] ?(?P<title>.+?) ?[»\"])?, (?:ligne|row) (?P<row>\d+) ?: (?P<label>.+)$"
)
ORDINAL_CITE_RE = re.compile(r", (?P<k>\d+)(?:er|e|st|nd|rd|th) paragraphe?$")

MAX_HEADING = 100


def letters(text: str) -> str:
    """Only the letters, lowercased: the form in which a reader's eye matches two texts
    regardless of line breaks, hyphenation, punctuation, markup and footnote numbers."""
    text = unicodedata.normalize("NFC", strip_markup(text)).lower()
    return "".join(ch for ch in text if ch.isalpha())


def is_furniture(line: str) -> bool:
    """Page numbers, running symbol headers, bare URL lines and table headers repeated on
    each page: not part of any passage."""
    text = line.strip()
    return (
        not text
        or text.isdigit()
        or is_url_line(text)
        or bool(SYMBOL_LINE_RE.match(text))
        or bool(GLOSSARY_HEADER_RE.match(text))
        or bool(STEP_TABLE_HEADER_RE.match(text))
    )


def printed(passage: str) -> str:
    """A passage of the source without its page furniture, as a reader reads it."""
    return "\n".join(line for line in passage.split("\n") if not is_furniture(line))


@dataclass
class _Line:
    start: int
    end: int
    text: str  # stripped, list bullet and markup removed


class _Source:
    """The source as a reader scans it: lines with offsets, furniture skipped."""

    def __init__(self, source: str):
        self.source = source
        self.lines: list[_Line] = []
        offset = 0
        for raw in source.split("\n"):
            text = BULLET_RE.sub("", strip_markup(raw).strip()).strip()
            if text and not is_furniture(text):
                self.lines.append(_Line(offset, offset + len(raw), text))
            offset += len(raw) + 1
        self.raw = [self._raw(i) for i in range(len(self.lines))]

    def _raw(self, i: int) -> str:
        line = self.lines[i]
        return self.source[line.start : line.end].strip(" \n")  # keep tabs: empty first cells

    def span(self, first: int, stop: int) -> Span:
        """Lines first .. stop-1 as a character span."""
        end = self.lines[stop - 1].end if stop > first else self.lines[first].end
        return Span(self.lines[first].start, end)

    def is_heading(self, i: int) -> bool:
        """A heading as the eye sees it: markdown or a whole bold line, or a short numbered
        line without final punctuation that is not continued in lowercase on the next line."""
        raw, text = self.raw[i], self.lines[i].text
        if MD_HEADING_RE.match(raw) or BOLD_LINE_RE.match(raw) or HALF_HEADING_RE.match(text) or CAPTION_RE.match(text):
            return True
        if len(text) > MAX_HEADING or text.endswith((".", ";", ":", ",", "?")) or not HEADING_TOKEN_RE.match(text):
            return False
        nxt = self.lines[i + 1].text if i + 1 < len(self.lines) else ""
        return not (nxt[:1].islower() or nxt.startswith("("))

    def find(self, start: int, stop: int, pred) -> int | None:
        return next((i for i in range(start, stop) if pred(i)), None)


# -- locating ------------------------------------------------------------------------------
@functools.lru_cache(maxsize=4)
def _scanned(source: str) -> _Source:
    """One scan per source text: citations of a document are located one after another, and
    the scan (every line cleaned and classified) costs 25 ms, about all of a lookup."""
    return _Source(source)


def locate(citation: str, source: str) -> Span:
    """The span of `source` that `citation` names. Raises CitationError."""
    src = _scanned(source)
    if not src.lines:
        raise CitationError("the source text is empty")
    for pattern, finder in (
        (PRINCIPLE_CITE_RE, _principle),
        (GLOSSARY_CITE_RE, _glossary),
        (STEP_CITE_RE, _step),
        (PREAMBLE_CITE_RE, _preamble),
        (TABLE_CITE_RE, _table_row),
        (PARA_CITE_RE, _paragraph_or_item),
    ):
        match = pattern.search(citation)
        if match:
            return finder(src, match)
    return _section(src, citation)


def _paragraph_start(src: _Source, number: int) -> int:
    """Numbered paragraphs run 1, 2, 3 …: paragraph n is the n-th in that sequence, which
    is how a reader tells paragraph 1 from a heading "1. Prospérité partagée"."""
    expected = 1
    for i, line in enumerate(src.lines):
        m = PARA_RE.match(line.text)
        if m and int(m.group(1)) == expected and not MD_HEADING_RE.match(src.raw[i]):
            if expected == number:
                return i
            expected += 1
    raise CitationError(f"no paragraph {number} in the source")


def _paragraph_end(src: _Source, start: int, number: int) -> int:
    """A paragraph ends at the next numbered paragraph or at the next heading."""
    nxt = str(number + 1) + "."
    found = src.find(start + 1, len(src.lines), lambda i: src.lines[i].text.startswith(nxt + " ") or src.is_heading(i))
    return found if found is not None else len(src.lines)


def _items(src: _Source, start: int, stop: int, tokens: Sequence[str], target: str) -> tuple[int, int]:
    """Lines of item `target` among lines start..stop, its predecessors in `tokens` order
    appearing first (b after a, ii after i); the item ends at the next one or at stop."""
    if target not in tokens:
        raise CitationError(f"({target}) is not an item marker")
    at = start - 1
    for token in tokens[: tokens.index(target) + 1]:
        found = src.find(at + 1, stop, lambda i, t=token: _item_token(src, i) == t)
        if found is None:
            raise CitationError(f"no item ({token}) where the citation points")
        at = found
    following = tokens[tokens.index(target) + 1] if tokens.index(target) + 1 < len(tokens) else None
    end = src.find(at + 1, stop, lambda i: following is not None and _item_token(src, i) == following)
    return at, end if end is not None else stop


def _item_token(src: _Source, i: int) -> str | None:
    m = ITEM_RE.match(src.lines[i].text)
    return m.group(1) if m and not HALF_HEADING_RE.match(src.lines[i].text) else None


LETTERS = [chr(c) for c in range(ord("a"), ord("z") + 1)]


def _paragraph_or_item(src: _Source, m: re.Match[str]) -> Span:
    number = int(m["para"])
    start = _paragraph_start(src, number)
    stop = _paragraph_end(src, start, number)
    if not m["item"]:
        return src.span(start, stop)
    first, end = _items(src, start + 1, stop, LETTERS, m["item"])
    if not m["sub"]:
        return src.span(first, end)
    sub, sub_end = _items(src, first + 1, end, ROMANS, m["sub"])
    return src.span(sub, sub_end)


def _principle(src: _Source, m: re.Match[str]) -> Span:
    group = "thematic" if (m["fr"] or m["en"]) in ("thématique", "thematic") else "enabling"
    letter = m["l_fr"] or m["l_en"]
    group_re = THEMATIC_RE if group == "thematic" else ENABLING_RE
    group_at = src.find(0, len(src.lines), lambda i: bool(group_re.match(src.lines[i].text)))
    if group_at is None:
        raise CitationError(f"no {group} pillars heading in the source")
    pillar = m["pillar"] + "."
    pillar_at = src.find(
        group_at + 1, len(src.lines), lambda i: src.lines[i].text.startswith(pillar + " ") and src.is_heading(i)
    )
    if pillar_at is None:
        raise CitationError(f"no {group} pillar {m['pillar']} heading in the source")
    half = src.find(pillar_at + 1, len(src.lines), lambda i: bool(PRINCIPLES_RE.match(src.lines[i].text)))
    if half is None:
        raise CitationError(f"no principles heading under {group} pillar {m['pillar']}")
    para = _paragraph_start(src, int(m["para"]))
    if not pillar_at < para < half:
        raise CitationError(f"the principles of {group} pillar {m['pillar']} do not follow para. {m['para']}")
    stop = src.find(half + 1, len(src.lines), src.is_heading) or len(src.lines)
    first, end = _items(src, half + 1, stop, LETTERS, letter)
    return src.span(first, end)


def _glossary(src: _Source, m: re.Match[str]) -> Span:
    """A term opens its entry (maybe over two lines); the entry runs until the next one."""
    head = src.find(0, len(src.lines), lambda i: bool(GLOSSARY_RE.match(src.lines[i].text)))
    if head is None:
        raise CitationError("no glossary in the source")
    term = letters(m["term"])
    at = src.find(
        head + 1,
        len(src.lines),
        lambda i: (
            _opens_entry(src, i) and letters(" ".join(line.text for line in src.lines[i : i + 3])).startswith(term)
        ),
    )
    if at is None:
        raise CitationError(f"no glossary term {m['term']!r} in the source")
    end = src.find(
        at + 1, len(src.lines), lambda i: _opens_entry(src, i) and not letters(src.lines[i].text).startswith(term)
    )
    return src.span(at, end if end is not None else len(src.lines))


def _opens_entry(src: _Source, i: int) -> bool:
    """A glossary line that starts an entry: a capital, and either a short line (the term
    alone) or a lowercase term followed by a definition opening with a capital."""
    text = src.lines[i].text
    if not text[:1].isupper():
        return False
    words = text.split()
    return len(text) <= MAX_TERM_LINE or any(w[:1].isupper() for w in words[1 : MAX_TERM_WORDS + 1])


def _step(src: _Source, m: re.Match[str]) -> Span:
    step = src.find(
        0, len(src.lines), lambda i: (s := STEP_RE.match(src.lines[i].text)) is not None and s.group(1) == m["step"]
    )
    if step is None:
        raise CitationError(f"no implementation step {m['step']} in the source")
    at = src.find(
        step + 1,
        len(src.lines),
        lambda i: (s := STEP_MEASURE_RE.match(src.lines[i].text)) is not None and s.group(1) == m["measure"],
    )
    if at is None:
        raise CitationError(f"no measure {m['measure']} under step {m['step']}")
    end = src.find(
        at + 1,
        len(src.lines),
        lambda i: bool(
            STEP_MEASURE_RE.match(src.lines[i].text)
            or STEP_RE.match(src.lines[i].text)
            or PARA_RE.match(src.lines[i].text)
            or src.is_heading(i)
        ),
    )
    return src.span(at, end if end is not None else len(src.lines))


def _preamble(src: _Source, m: re.Match[str]) -> Span:
    """Preambular clauses follow the enacting formula ("L'Assemblée …,"), each opening with
    a capital ("Rappelant …"), until operative paragraph 1."""
    formula = src.find(0, len(src.lines), lambda i: bool(ENACTING_RE.match(src.lines[i].text)))
    if formula is None:
        raise CitationError("no enacting formula (preamble) in the source")
    first_op = _paragraph_start(src, 1)
    starts = [i for i in range(formula + 1, first_op) if src.lines[i].text[:1].isupper()]
    n = int(m["n"])
    if not 1 <= n <= len(starts):
        raise CitationError(f"the preamble has {len(starts)} clauses, not {n}")
    stop = starts[n] if n < len(starts) else first_op
    return src.span(starts[n - 1], stop)


def _table_row(src: _Source, m: re.Match[str]) -> Span:
    """Rows are tab-separated lines under the table's title, the first one its header
    (repeated after page breaks); row n is the one labelled "n. …", else the n-th row. A
    row runs until the next row (a line with a first cell) or the end of the table."""
    start = 0
    if m["title"]:
        title = letters(m["title"])
        found = src.find(0, len(src.lines), lambda i: src.is_heading(i) and letters(src.lines[i].text).endswith(title))
        if found is None:
            raise CitationError(f"no table titled {m['title']!r} in the source")
        start = found
    cells = {i: src.raw[i].split("\t") for i in range(start, len(src.lines)) if "\t" in src.raw[i]}
    if not cells:
        raise CitationError("no table in the source")
    first = min(cells)
    table_end = src.find(
        first + 1,
        len(src.lines),
        lambda i: i not in cells and (src.is_heading(i) or bool(PARA_RE.match(src.lines[i].text))),
    )
    stop = table_end if table_end is not None else len(src.lines)
    header = letters(src.raw[first])
    rows = [i for i in sorted(cells) if first < i < stop and cells[i][0].strip() and letters(src.raw[i]) != header]
    label, n = letters(m["label"]), int(m["row"])
    numbered = [i for i in rows if src.lines[i].text.startswith(f"{n}.") and letters(cells[i][0]).endswith(label)]
    at = (
        numbered[0]
        if len(numbered) == 1
        else (rows[n - 1] if n <= len(rows) and letters(cells[rows[n - 1]][0]).endswith(label) else None)
    )
    if at is None:
        raise CitationError(f"no table row {n} labelled {m['label']!r}")
    nxt = next((i for i in rows if i > at), stop)
    return src.span(at, nxt)


def _section(src: _Source, citation: str) -> Span:
    """Documents without numbered paragraphs: the section is the heading the citation names
    (after the document's own name); an ordinal picks one of its prose paragraphs."""
    speaker = ""
    if " — " in citation:
        citation, speaker = citation.rsplit(" — ", 1)
    ordinal = ORDINAL_CITE_RE.search(citation)
    if ordinal:
        citation = citation[: ordinal.start()]
    headings = {i: letters(src.lines[i].text) for i in range(len(src.lines)) if MD_HEADING_RE.match(src.raw[i])}
    parts = citation.split(", ")
    for cut in range(1, len(parts)):
        wanted = letters(", ".join(parts[cut:]))
        hits = [i for i, h in headings.items() if h == wanted]
        if len(hits) == 1:
            break
    else:
        raise CitationError(f"no section heading named in {citation!r}")
    at = hits[0]
    who = letters(speaker)
    end = src.find(at + 1, len(src.lines), lambda i: i in headings and not (who and headings[i].startswith(who)))
    stop = end if end is not None else len(src.lines)
    if not ordinal:
        return src.span(at, stop)
    starts = _prose_starts(src, at + 1, stop, who)
    k = int(ordinal["k"])
    if not 1 <= k <= len(starts):
        raise CitationError(f"the section has {len(starts)} paragraphs, not {k}")
    return src.span(starts[k - 1], starts[k] if k < len(starts) else stop)


def _prose_starts(src: _Source, start: int, stop: int, speaker: str) -> list[int]:
    """Lines that open a paragraph: not a heading, the speaker's line, a list item, a line
    carrying on in lowercase, or an answer under a question."""
    starts = []
    for i in range(start, stop):
        raw, text = src.raw[i], src.lines[i].text
        if MD_HEADING_RE.match(raw) or (speaker and letters(text).startswith(speaker)):
            continue
        if BOLD_LINE_RE.match(raw) or raw.startswith(("-", "*", "•")) or PARA_RE.match(raw) or text[:1].islower():
            continue
        if starts and src.lines[i - 1].text.endswith("?"):
            continue
        starts.append(i)
    return starts
