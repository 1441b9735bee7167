"""Conference reports in markdown: headings, speaker lines, prose paragraphs, Q&A bullets.

No numbered paragraphs, so chunk ids are running numbers ({doc}:p1, p2 …) and a citation
names the section, the paragraph's place in it when there are several, and the speaker. A list (numbered
points, bullets, a question and its answers) stays with the paragraph that introduces it.
The speaker of each section is kept in `context` and in the citation.
"""

from __future__ import annotations

import re
from collections import Counter

from boussole.ingest.clean import FootnoteMarkers, clean_inline
from boussole.ingest.grammar import BULLET_RE, HONORIFIC_RE, MD_HEADING_RE, MODERATOR_RE, PARA_RE, SPEAKER_RE
from boussole.ingest.layout import Layout
from boussole.ingest.models import Chunk, Document
from boussole.ingest.un_chunks import citation_base

# A city's presentation: "Huế, Vietnam : Numérique citoyen …", "Namur, Belgium: …".
CITY_SECTION_RE = re.compile(r"^[A-ZÀ-ÝĐ][^,:]{1,40}, [A-ZÀ-ÝĐ][^,:]{1,30} ?: \S")
# A paragraph that opens on what a city did: "L'expérience de Phnom Penh …", "À Tiznit, …",
# "La ville de Huế a …", "Nous avons lancé …" (a city's representative speaking).
PRACTICE_OPENING_RE = re.compile(
    r"^(L[’']expérience d[e']\s*[A-ZÀ-Ý]|[ÀA] [A-ZÀ-Ý][\w’'-]+(?: [A-ZÀ-Ý][\w’'-]+)*,|La ville de [A-ZÀ-Ý]"
    r"|Nous avons (lancé|mis en place|créé|adopté|développé)|The experience of [A-Z]|In [A-Z][\w'-]+,"
    r"|The city of [A-Z]|We (have )?(launched|set up|created|adopted|developed))"
)
MIN_COVER_PROSE = 200  # text before the first section is a cover unless it is real prose


def _speaker_name(text: str) -> str:
    """'Monsieur SENG Vannak, Vice-Gouverneur …' → 'Monsieur SENG Vannak'."""
    moderator = MODERATOR_RE.match(text)
    if moderator and ":" in moderator.group(0):  # "Moderator:" → "Moderator : "
        text = f"{moderator.group(1)} : {text[moderator.end() :]}"
    honorific = HONORIFIC_RE.match(text)  # "SE, M. Kimleang ING, …": the comma after SE is not the end
    head = honorific.group(1) + " " if honorific else ""
    rest = text[honorific.end() :] if honorific else text
    return head + rest.split(",")[0].strip()


def is_city_example(section: list[str], speaker: str, text: str) -> bool:
    """A city's actual practice, told by its representative: every paragraph of a city's
    presentation ("Namur, Belgique : …"), or, in another talk, a paragraph that opens on
    what a city did. Never the conference's presentation, a moderator's framing and
    questions, a question-and-answer session or the conclusions: these have no speaker
    or a moderator."""
    if not speaker or MODERATOR_RE.match(speaker) or text.startswith("⇒"):
        return False
    if section and CITY_SECTION_RE.match(section[-1]):
        return True
    return bool(PRACTICE_OPENING_RE.match(text))


def _ordinal(k: int, lang: str) -> str:
    """'2e paragraphe' / '2nd paragraph': the paragraph's place in its section."""
    if lang == "en":
        suffix = "th" if 10 <= k % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(k % 10, "th")
        return f"{k}{suffix} paragraph"
    return f"{k}{'er' if k == 1 else 'e'} paragraphe"


def render_line(raw: str) -> tuple[str, bool]:
    """Display form of one source line and whether it starts a new line of the chunk:
    '- ⇒ Question' → '⇒ Question'; '  - C.B : …' → '• C.B : …'; '1. …' kept."""
    bullet = BULLET_RE.match(raw)
    if bullet:
        body = raw[bullet.end() :]
        return (body if body.startswith("⇒") else f"• {body}"), True
    return raw, _is_list_line(raw)


def _is_list_line(raw: str) -> bool:
    """A bullet or a numbered point: it stays with the paragraph that introduces it."""
    return bool(BULLET_RE.match(raw) or PARA_RE.match(raw))


def chunk_conference(doc: Document, layout: Layout, markers: FootnoteMarkers) -> list[Chunk]:
    base = citation_base(doc)
    top: str | None = None  # current top-level section (heading followed by a rule, or numbered)
    sub: str | None = None
    speaker_line = ""
    paragraphs: list[tuple[list[str], list[str], str, int | None]] = []  # lines, section, speaker, page

    def section() -> list[str]:
        return [s for s in (top, sub) if s]

    for line in layout.lines:
        raw = line.stripped
        heading = MD_HEADING_RE.match(raw)
        plain = clean_inline(heading.group(2) if heading else raw)
        if heading:
            if SPEAKER_RE.match(plain):
                speaker_line = plain
                continue
            if len(heading.group(1)) == 1:
                continue  # the document title
            # a part of the programme: a heading before a rule, or numbered ("## 2. Qu'est-ce …")
            if line.rule_after or PARA_RE.match(plain):
                top, sub, speaker_line = plain, None, ""
            else:
                sub, speaker_line = plain, ""
            continue
        if raw.startswith("**") and SPEAKER_RE.match(plain):
            speaker_line = plain
            continue
        if top is None:
            if len(plain) >= MIN_COVER_PROSE:
                paragraphs.append(([raw], section(), speaker_line, line.page))
            continue
        follows = paragraphs and paragraphs[-1][1] == section()
        if follows and (_is_list_line(raw) or raw[:1].islower() or paragraphs[-1][0][-1].rstrip().endswith("?")):
            paragraphs[-1][0].append(raw)
            continue
        paragraphs.append(([raw], section(), speaker_line, line.page))

    per_section = Counter(tuple(sec) for _, sec, _, _ in paragraphs)
    position: Counter[tuple[str, ...]] = Counter()
    chunks = []
    for n, (lines, sec, speaker, page) in enumerate(paragraphs, start=1):
        position[tuple(sec)] += 1
        texts, notes = [], []
        for raw in lines:
            shown, new_line = render_line(raw)
            text, cited = markers.extract(shown)
            notes += [f"{c} {clean_inline(markers.notes[c])}" for c in cited]
            text = clean_inline(text)
            if new_line or not texts or texts[-1].endswith("?"):  # an answer under its question
                texts.append(text)
            else:
                texts[-1] = texts[-1] + " " + text
        name = _speaker_name(speaker) if speaker else ""
        place = sec[-1] if sec else ""
        if per_section[tuple(sec)] > 1:  # the section alone would not say which paragraph
            place = ", ".join(x for x in (place, _ordinal(position[tuple(sec)], doc.lang)) if x)
        where = " — ".join(x for x in (place, name) if x)
        chunks.append(
            Chunk(
                id=f"{doc.id}:p{n}",
                doc_id=doc.id,
                text="\n".join(texts),
                lang="",
                citation=f"{base}, {where}" if where else base,
                order=0,
                kind="city-example" if is_city_example(sec, speaker, texts[0] if texts else "") else "paragraph",
                section=sec,
                page=page,
                context="\n".join(x for x in (" › ".join(sec), speaker) if x),
                notes=notes,
            )
        )
    return chunks
