"""Guidelines enrichment (French and English): pillars, principle/measure kinds, the actor a
measure is addressed to, the glossary annex and the step-by-step implementation table.

The generic UN parser does the numbering; this module only knows what the guidelines'
headings and lead-ins mean.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field, replace

from boussole.ingest.clean import FootnoteMarkers, clean_inline, join_lines
from boussole.ingest.grammar import (
    ANNEX_RE,
    BULLET_RE,
    ENABLING_RE,
    GLOSSARY_HEADER_RE,
    GLOSSARY_RE,
    MAX_TERM_LINE,
    MAX_TERM_WORDS,
    MEASURES_RE,
    PARA_RE,
    PILLAR_HEADING_RE,
    PRINCIPLES_RE,
    STEP_MEASURE_RE,
    STEP_RE,
    STEP_TABLE_HEADER_RE,
    THEMATIC_RE,
)
from boussole.ingest.layout import Layout, Line
from boussole.ingest.models import Chunk, Document
from boussole.ingest.un_chunks import chunk_un_document, citation_base
from boussole.ingest.un_structure import parse_blocks

# Who a measures paragraph addresses; "joint" is tested first ("Toutes les parties prenantes").
ACTOR_PATTERNS = (
    (
        "joint",
        re.compile(
            r"^(Tous les acteurs|Toutes les parties prenantes|Tous les niveaux|All (relevant )?(actors|stakeholders)|All levels)",
            re.I,
        ),
    ),
    (
        "national",
        re.compile(
            r"^(Les )?(pouvoirs publics|gouvernements|autorités) nationa(ux|les)|^(National|Central) (governments?|authorities)",
            re.I,
        ),
    ),
    (
        "local-regional",
        re.compile(
            r"^(Les )?(collectivités|autorités|administrations|gouvernements) locales? et régionales?|^Local and regional (governments?|authorities)|^(Sub-?national|Local) governments",
            re.I,
        ),
    ),
    ("stakeholders", re.compile(r"^(Les )?parties prenantes|^(Relevant |Other )?stakeholders", re.I)),
)


def chunk_guidelines(doc: Document, layout: Layout, markers: FootnoteMarkers) -> list[Chunk]:
    parts = split_annexes(layout.lines)
    blocks = parse_blocks(parts.body, layout.hard_wrapped)
    chunks, leads = chunk_un_document(doc, blocks, markers, layout.hard_wrapped)
    chunks = [enrich(doc, c, leads) for c in chunks]
    steps = step_chunks(doc, parts.steps)
    glossary = glossary_chunks(doc, parts.glossary)
    # Keep document order: the step table sits after paragraph `steps_after`.
    at = next(
        (i for i, c in enumerate(chunks) if c.paragraph and int(c.paragraph) > parts.steps_after),
        len(chunks),
    )
    return chunks[:at] + steps + chunks[at:] + glossary


@dataclass
class GuidelineParts:
    body: list[Line]
    steps: list[Line]
    glossary: list[Line]
    steps_after: int  # number of the last paragraph before the step table


def split_annexes(lines: list[Line]) -> GuidelineParts:
    """Take the step table and the glossary out of the body: they are tables, not prose."""
    parts = GuidelineParts([], [], [], 0)
    mode = "body"
    last_para = 0
    for i, line in enumerate(lines):
        s = line.stripped
        if mode == "body" and STEP_TABLE_HEADER_RE.match(s):
            mode = "steps"
            parts.steps_after = last_para
            # the table's title line just before its header ("Approche et mesures …")
            prev = parts.body[-1].stripped if parts.body else ""
            if prev and not PARA_RE.match(prev) and len(prev) < 100 and not prev.endswith((".", ":", ";")):
                parts.body.pop()
            continue
        if mode == "steps" and PARA_RE.match(s):
            mode = "body"
        if mode != "glossary" and ANNEX_RE.match(s) and i + 1 < len(lines) and GLOSSARY_RE.match(lines[i + 1].stripped):
            mode = "glossary"
            continue
        if mode == "glossary":
            if not GLOSSARY_RE.match(s):
                parts.glossary.append(line)
        elif mode == "steps":
            parts.steps.append(line)
        else:
            if PARA_RE.match(s):
                last_para = int(s.split(".")[0])
            parts.body.append(line)
    return parts


# -- enrichment ----------------------------------------------------------------------------
def pillar_of(section: list[str]) -> str | None:
    group = None
    for title in section:
        if THEMATIC_RE.match(title):
            group = "thematic"
        elif ENABLING_RE.match(title):
            group = "enabling"
        elif group:
            m = PILLAR_HEADING_RE.match(title)
            if m:
                return f"{group}-{m.group(1)}"
    return None


def actor_of(lead: str) -> str | None:
    for actor, pattern in ACTOR_PATTERNS:
        if pattern.search(lead.strip()):
            return actor
    return None


def pillar_title(section: list[str]) -> str:
    """'1. Prospérité partagée' → 'Prospérité partagée': the pillar heading as printed."""
    for title in reversed(section):
        if m := PILLAR_HEADING_RE.match(title):
            return title[m.end() :]
    return ""


def principle_citation(doc: Document, chunk: Chunk, pillar: str) -> str:
    """Principles sit under an unnumbered "a) Principes" heading that follows a pillar's
    opening paragraph, not inside that paragraph: the citation names the pillar, the
    principle's letter and the paragraph it follows, so that a reader finds it."""
    group, number = pillar.split("-")
    title = pillar_title(chunk.section)
    if doc.lang == "en":
        return f"{citation_base(doc)}, {group} pillar {number} ({title}), principle ({chunk.item}), after para. {chunk.paragraph}"
    word = "thématique" if group == "thematic" else "habilitant"
    return f"{citation_base(doc)}, pilier {word} {number} ({title}), principe {chunk.item}), après le para. {chunk.paragraph}"


def enrich(doc: Document, chunk: Chunk, leads: dict[str, str]) -> Chunk:
    pillar = pillar_of(chunk.section)
    half = chunk.section[-1] if chunk.section else ""
    kind, actor, citation = "paragraph", None, chunk.citation
    in_measures = bool(MEASURES_RE.match(half))
    if chunk.item and PRINCIPLES_RE.match(half):
        kind = "principle"
        if pillar:
            citation = principle_citation(doc, chunk, pillar)
    elif chunk.item and in_measures:
        kind = "measure"
    if in_measures and chunk.paragraph:
        actor = actor_of(leads.get(chunk.paragraph, ""))
        if actor is None and not chunk.item:
            actor = actor_of(chunk.text)
        if actor == "joint" and not chunk.item:
            kind = "measure"  # what all actors together are encouraged to do: a measure without a letter
    return replace(chunk, pillar=pillar, kind=kind, actor=actor, citation=citation)


# -- step-by-step implementation table -------------------------------------------------------
@dataclass
class _Measure:
    number: str
    title_lines: list[str]
    bullets: list[list[str]] = field(default_factory=list)
    text_lines: list[str] = field(default_factory=list)
    page: int | None = None
    title_done: bool = False


def step_chunks(doc: Document, lines: list[Line]) -> list[Chunk]:
    base = citation_base(doc)
    steps: dict[str, tuple[str, list[str]]] = {}  # step number → (title, objective lines)
    measures: list[tuple[str, _Measure]] = []
    step_no = None
    current: _Measure | None = None
    for line in lines:
        s = line.stripped
        if STEP_TABLE_HEADER_RE.match(s):
            continue
        step = STEP_RE.match(s)
        if step:
            step_no = step.group(1)
            steps[step_no] = (clean_inline(step.group(2)), [])
            current = None
            continue
        measure = STEP_MEASURE_RE.match(s)
        if measure and step_no:
            current = _Measure(measure.group(1), [measure.group(2)], page=line.page)
            current.title_done = measure.group(2).rstrip().endswith(":")
            measures.append((step_no, current))
            continue
        if current is None:
            if step_no:
                steps[step_no][1].append(s)
            continue
        if BULLET_RE.match(s):
            current.title_done = True
            current.bullets.append([BULLET_RE.sub("", s)])
        elif not current.title_done:
            current.title_lines.append(s)
            current.title_done = s.rstrip().endswith(":")
        elif current.bullets:
            current.bullets[-1].append(s)
        else:
            current.text_lines.append(s)
    chunks = []
    for step_no, m in measures:
        title = clean_inline(join_lines(m.title_lines)).rstrip(" :")
        step_title, objective = steps[step_no]
        body = [f"• {clean_inline(join_lines(b))}" for b in m.bullets]
        if m.text_lines:
            body.insert(0, clean_inline(join_lines(m.text_lines)))
        word = "Measure" if doc.lang == "en" else "Mesure"
        step_word = "Step" if doc.lang == "en" else "Étape"
        text = f"{word} {m.number} : {title}\n" + "\n".join(body)
        context = f"{step_word} {step_no} : {step_title}\n{clean_inline(join_lines(objective))}".strip()
        chunks.append(
            Chunk(
                id=f"{doc.id}:step.{m.number}",
                doc_id=doc.id,
                text=text,
                lang="",
                citation=(
                    f"{base}, implementation step {step_no}, measure {m.number}"
                    if doc.lang == "en"
                    else f"{base}, étape de mise en œuvre {step_no}, mesure {m.number}"
                ),
                kind="implementation-step",
                order=0,
                section=[f"{step_word} {step_no} : {step_title}"],
                page=m.page,
                context=context,
            )
        )
    return chunks


# -- glossary --------------------------------------------------------------------------------
def slugify(term: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", term).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")


def _split_term(line: str) -> tuple[str, str] | None:
    """'Cybersécurité Pratiques et mesures …' → ('Cybersécurité', 'Pratiques et mesures …'):
    terms are lowercase after their first word, a definition starts with a capital."""
    words = line.split()
    for i in range(1, min(len(words), MAX_TERM_WORDS + 1)):
        if words[i][:1].isupper():
            return " ".join(words[:i]), " ".join(words[i:])
    return None


def glossary_chunks(doc: Document, lines: list[Line]) -> list[Chunk]:
    entries: list[tuple[list[str], list[str], int | None]] = []  # term lines, definition lines, page
    prev_ended = True
    for line in lines:
        s = line.stripped
        if GLOSSARY_HEADER_RE.match(s) or not s:
            continue
        cur = entries[-1] if entries else None
        if cur is not None and not cur[1]:  # reading a term that spans lines
            if s[:1].islower() and len(s) <= MAX_TERM_LINE:
                cur[0].append(s)
            else:
                cur[1].append(s)
            prev_ended = s.endswith(".")
            continue
        starts_upper = s[:1].isupper()
        split = _split_term(s) if starts_upper else None
        if starts_upper and prev_ended and len(s) <= MAX_TERM_LINE and split is None:
            entries.append(([s], [], line.page))  # a term alone on its line
        elif split and (prev_ended or len(split[0].split()) <= 3) and len(s) > MAX_TERM_LINE:
            entries.append(([split[0]], [split[1]], line.page))
        elif cur is not None:
            cur[1].append(s)
        prev_ended = s.endswith(".")
    base = citation_base(doc)
    section = ["Annex" if doc.lang == "en" else "Annexe", "Glossary" if doc.lang == "en" else "Glossaire"]
    chunks = []
    for term_lines, def_lines, page in entries:
        term = clean_inline(" ".join(term_lines))
        definition = clean_inline(join_lines(def_lines))
        chunks.append(
            Chunk(
                id=f"{doc.id}:glossary.{slugify(term)}",
                doc_id=doc.id,
                text=f"{term} : {definition}",
                lang="",
                citation=(
                    f"{base}, annex (glossary): {term}" if doc.lang == "en" else f"{base}, annexe (glossaire) : {term}"
                ),
                kind="definition",
                order=0,
                section=section,
                page=page,
                context=" › ".join(section),
            )
        )
    return chunks
