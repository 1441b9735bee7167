"""Text cleaning: markup removal, line joining, de-hyphenation, footnote markers.

Pure functions over strings; no knowledge of document structure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from boussole.ingest.grammar import URL_LINE_RE

# Markdown link [text](url) → text; autolink <https://…> → url text.
MD_LINK_RE = re.compile(r"\[([^\]]+)\]\((?:https?://|www\.)[^)]*\)")
MD_AUTOLINK_RE = re.compile(r"<((?:https?://|www\.)[^>\s]+)>")
# Footnote markers written as HTML superscripts: <sup>12</sup>.
SUP_TAG_RE = re.compile(r"<sup>\s*([0-9*]+)\s*</sup>")
# Unicode superscript digits used as footnote markers: ¹ ² ³ …
SUPERSCRIPT_DIGITS = "⁰¹²³⁴⁵⁶⁷⁸⁹"
SUPERSCRIPT_RE = re.compile(f"[{SUPERSCRIPT_DIGITS}]+")
_SUPER_TO_ASCII = str.maketrans(SUPERSCRIPT_DIGITS, "0123456789")
# Star markers glued to a word or closing mark ("provisoire\*", "session***"): cover notes.
STAR_MARKER_RE = re.compile(r"(?<=[^\s*])(?:\\\*|\*){1,4}(?=\s|$|[,.;:)])")
# Any HTML tag (table cells carry <ol>, <li>, <p>, <i>, <br> …).
HTML_TAG_RE = re.compile(r"</?[a-zA-Z][^>]*>")
# Markdown emphasis: **bold**, __bold__, *italic*, _italic_ (not inside words for _).
MD_BOLD_RE = re.compile(r"\*\*(.+?)\*\*|__(.+?)__")
MD_ITALIC_RE = re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])")
# Markdown escapes such as \* \_ \#.
MD_ESCAPE_RE = re.compile(r"\\([*_#\[\]()`>|-])")
# Bare digits glued to a word or a closing mark: the PDF form of a footnote marker
# ("convenable1,", "personnes »19."). Not preceded by a digit, comma or dot, so "2,8" and
# "17.6" never match; followed by punctuation, space or end.
GLUED_NUMBER_RE = re.compile(r"(?<=[^\W\d_]|[»)\]’'”])(\d{1,3})(?=[\s,.;:!?)»]|$)")
# Words that keep their hyphen when split across lines ("micro-" + "entreprises").
KEEP_HYPHEN_PREFIXES = frozenset(
    "anti auto co contre e extra inter micro multi non post pré pre sous self semi socio "
    "well long short cross peer sur infra méta meta cyber ex vice".split()
)
WS_RE = re.compile(r"[ \t\u00a0\u202f]+")


def is_url_line(line: str) -> bool:
    return bool(URL_LINE_RE.match(line))


def superscript_to_ascii(text: str) -> str:
    return text.translate(_SUPER_TO_ASCII)


def strip_emphasis(text: str) -> str:
    text = MD_BOLD_RE.sub(lambda m: m.group(1) or m.group(2), text)
    return MD_ITALIC_RE.sub(r"\1", text)


def strip_markup(text: str) -> str:
    """Remove markdown emphasis, links, escapes and HTML tags; keep the words."""
    text = MD_LINK_RE.sub(r"\1", text)
    text = MD_AUTOLINK_RE.sub(r"\1", text)
    text = re.sub(r"<br\s*/?>|</li>|</p>", " ", text)
    text = HTML_TAG_RE.sub(" ", text)
    text = MD_BOLD_RE.sub(lambda m: m.group(1) or m.group(2), text)
    text = MD_ITALIC_RE.sub(r"\1", text)
    text = MD_ESCAPE_RE.sub(r"\1", text)
    return text.replace("&nbsp;", " ").replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")


def normalize_space(text: str) -> str:
    """Collapse runs of spaces inside lines, keep single newlines, trim."""
    lines = [WS_RE.sub(" ", line).strip() for line in text.split("\n")]
    text = "\n".join(line for line in lines if line)
    # No space before French/English closing punctuation glitches like "word ,".
    return re.sub(r" +([,.)])", r"\1", text)


def join_lines(lines: list[str]) -> str:
    """Join hard-wrapped lines into one paragraph, repairing words hyphenated at line ends."""
    out = ""
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if not out:
            out = line
            continue
        if out.endswith("\u00ad"):  # soft hyphen: always a typesetting break
            out = out[:-1] + line
        elif re.search(r"[^\W\d_]-$", out) and line[:1].islower():
            head = re.search(r"([^\W\d_]+)-$", out).group(1)
            if head.lower() in KEEP_HYPHEN_PREFIXES:
                out = out + line  # a real compound: "micro-entreprises"
            else:
                out = out[:-1] + line  # a typesetting hyphen: "particu-" + "lièrement"
        else:
            out = out + " " + line
    return out


@dataclass
class FootnoteMarkers:
    """Finds footnote markers in body text and remembers which notes a text cites.

    Bare digits glued to words are only markers when they continue the document's footnote
    numbering (1, 2, 3 …): that is how "convenable1" is told from "G20" or "2,8 milliards".
    """

    notes: dict[str, str]  # label → footnote text
    next_number: int = 1
    bare_digits: bool = False  # PDF text: markers are plain digits glued to words
    unused: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.unused = set(self.notes)

    def extract(self, text: str) -> tuple[str, list[str]]:
        """Return `text` without markers and the labels it cites, in order."""
        cited: list[str] = []

        def cite(label: str) -> str:
            if label in self.notes:
                cited.append(label)
                self.unused.discard(label)
            return ""

        text = SUP_TAG_RE.sub(lambda m: cite(m.group(1)), text)
        text = SUPERSCRIPT_RE.sub(lambda m: cite(superscript_to_ascii(m.group(0))), text)
        text = strip_emphasis(text)  # "*Prie*" and "**bold**" are not star markers
        text = STAR_MARKER_RE.sub(lambda m: cite(m.group(0).replace("\\", "")), text)
        if self.bare_digits:
            text = GLUED_NUMBER_RE.sub(lambda m: self._bare(m, cited), text)
        return text, cited

    def _bare(self, match: re.Match[str], cited: list[str]) -> str:
        value = int(match.group(1))
        # Accept the expected number, or a small jump when a marker was lost in extraction.
        if self.next_number <= value <= self.next_number + 2 and str(value) in self.notes:
            self.next_number = value + 1
            cited.append(str(value))
            self.unused.discard(str(value))
            return ""
        return match.group(0)


def clean_inline(text: str) -> str:
    """Markup off, whitespace normalized: the display form of an already-joined text."""
    return normalize_space(strip_markup(text))
