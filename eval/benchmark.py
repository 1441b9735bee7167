"""The judged benchmark: judgments (TOML, by hand) → BEIR files (queries, qrels, corpus).

    python -m boussole.eval.benchmark build      # re-resolve judgments.toml against the current chunks

BEIR layout (what BEIR's GenericDataLoader, MTEB custom tasks and ir-measures read):

    corpus.jsonl     {"_id", "title", "text", "metadata"}      one line per chunk
    queries.jsonl    {"_id", "text", "lang", "metadata"}       one line per query
    qrels/test.tsv   query-id <TAB> corpus-id <TAB> score      with that header line

Out-of-scope queries are in queries.jsonl (metadata.out_of_scope = true) and have no qrels
line: by definition nothing in the corpus answers them.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sys
import tomllib
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from boussole.atomic import atomic_write_text
from boussole.ingest.models import Chunk

BENCHMARK_DIR = Path(__file__).resolve().parent / "benchmark"
JUDGMENTS_FILE = "judgments.toml"
QUERIES_FILE = "queries.jsonl"
CORPUS_FILE = "corpus.jsonl"
QRELS_FILE = Path("qrels") / "test.tsv"
LANGS = ("fr", "en")
PILLAR_KEYS = (
    "thematic-1",
    "thematic-2",
    "thematic-3",
    "thematic-4",
    "enabling-1",
    "enabling-2",
    "enabling-3",
    "enabling-4",
)

Qrels = dict[str, dict[str, int]]  # query id -> chunk id -> grade (1 or 2)

# The split every tuned number respects: needs with an odd number are the tuning half
# (choices may look at them), even ones the held-out half (figures are reported on it).
# Both language versions of a need stay on the same side.
HALVES = ("tuning", "held-out")


def half_of(need: str) -> str:
    """ "tuning" for odd need numbers (n01, n03, …), "held-out" for even ones."""
    digits = "".join(ch for ch in need if ch.isdigit())
    return "tuning" if digits and int(digits) % 2 == 1 else "held-out"


class BenchmarkError(ValueError):
    """The judgments or the BEIR files are inconsistent with each other or with the chunks."""


@dataclass(frozen=True)
class Need:
    """One information need, asked in French and in English, with graded references."""

    id: str
    topic: (
        str  # a pillar key, implementation, glossary, resolution, eb-report, partnership, city-examples, out-of-scope
    )
    pillar: str | None
    texts: dict[str, str]  # lang -> query text
    rel2: tuple[str, ...] = ()
    rel1: tuple[str, ...] = ()
    out_of_scope: bool = False


@dataclass(frozen=True)
class Query:
    id: str  # "{need}-{lang}", e.g. "n45-fr"
    text: str
    lang: str
    need: str
    topic: str
    pillar: str | None = None
    out_of_scope: bool = False

    def to_beir(self) -> dict:
        meta = {"need": self.need, "topic": self.topic, "pillar": self.pillar, "out_of_scope": self.out_of_scope}
        return {"_id": self.id, "text": self.text, "lang": self.lang, "metadata": meta}

    @classmethod
    def from_beir(cls, row: dict) -> Query:
        meta = row.get("metadata") or {}
        return cls(
            id=row["_id"],
            text=row["text"],
            lang=row["lang"],
            need=meta.get("need", row["_id"].rsplit("-", 1)[0]),
            topic=meta.get("topic", ""),
            pillar=meta.get("pillar") or None,
            out_of_scope=bool(meta.get("out_of_scope", False)),
        )


@dataclass
class Benchmark:
    queries: dict[str, Query]
    qrels: Qrels
    corpus: dict[str, dict] = field(default_factory=dict)  # empty unless corpus.jsonl was read

    @property
    def in_scope_ids(self) -> list[str]:
        return [q for q, query in self.queries.items() if not query.out_of_scope]

    @property
    def out_of_scope_ids(self) -> list[str]:
        return [q for q, query in self.queries.items() if query.out_of_scope]

    def subset(self, query_ids: Iterable[str]) -> Benchmark:
        wanted = [q for q in query_ids]
        unknown = [q for q in wanted if q not in self.queries]
        if unknown:
            raise BenchmarkError(f"unknown query id(s): {', '.join(unknown)}")
        return Benchmark(
            {q: self.queries[q] for q in wanted},
            {q: self.qrels[q] for q in wanted if q in self.qrels},
            self.corpus,
        )


# -- judgments ------------------------------------------------------------------------


def load_needs(path: Path = BENCHMARK_DIR / JUDGMENTS_FILE) -> list[Need]:
    with open(path, "rb") as handle:
        data = tomllib.load(handle)
    needs = []
    for row in data["need"]:
        needs.append(
            Need(
                id=row["id"],
                topic=row["topic"],
                pillar=row.get("pillar") or None,
                texts={lang: row[lang] for lang in LANGS},
                rel2=tuple(row.get("rel2", ())),
                rel1=tuple(row.get("rel1", ())),
                out_of_scope=bool(row.get("out_of_scope", False)),
            )
        )
    ids = [n.id for n in needs]
    if len(ids) != len(set(ids)):
        raise BenchmarkError("duplicate need ids in the judgments")
    return needs


def _fold(text: str) -> str:
    """Case-, accent-, apostrophe- and whitespace-insensitive form used to match quotes."""
    text = text.replace("\u2019", "'").replace("\u00a0", " ").replace("\u202f", " ")
    text = unicodedata.normalize("NFKD", text)
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return re.sub(r"\s+", " ", text).strip().lower()


_QUOTE = re.compile(r'^(?P<doc>[\w.-]+)~"(?P<quote>.+)"$')
_PRINCIPLE = re.compile(r"^P:(?P<pillar>(?:thematic|enabling)-[1-4])\.(?P<item>[a-z])$")


class Resolver:
    """Turns a judgment reference (chunk id, principle, or quote) into one chunk id."""

    def __init__(self, chunks: Sequence[Chunk]) -> None:
        # Judgments are on the passage, made on the authoritative text: translations carry
        # their original's grade (eval.runs maps them back), they are never judged apart.
        chunks = [c for c in chunks if c.translation is None]
        self._ids = {c.id for c in chunks}
        self._by_doc: dict[str, list[tuple[str, str]]] = {}
        for chunk in chunks:
            self._by_doc.setdefault(chunk.doc_id, []).append((chunk.id, _fold(chunk.text)))
        self._principles = {(c.pillar, c.item): c.id for c in chunks if c.kind == "principle" and c.pillar and c.item}

    def resolve(self, ref: str) -> str:
        if ref in self._ids:
            return ref
        match = _PRINCIPLE.match(ref)
        if match:
            key = (match["pillar"], match["item"])
            if key not in self._principles:
                raise BenchmarkError(f"{ref}: no principle chunk with pillar {key[0]} and item {key[1]}")
            return self._principles[key]
        match = _QUOTE.match(ref)
        if match:
            quote = _fold(match["quote"])
            hits = [cid for cid, text in self._by_doc.get(match["doc"], []) if quote in text]
            if len(hits) != 1:
                found = ", ".join(hits) or "none"
                raise BenchmarkError(
                    f"{ref}: the quote must match exactly one chunk of {match['doc']} (matched: {found})"
                )
            return hits[0]
        raise BenchmarkError(f'{ref}: no chunk with this id (and not a P:pillar.item or doc~"quote" reference)')


def resolve_judgments(needs: Sequence[Need], chunks: Sequence[Chunk]) -> tuple[dict[str, Query], Qrels]:
    """Queries (two per need) and qrels by chunk id; the higher grade wins on duplicates."""
    resolver = Resolver(chunks)
    errors: list[str] = []
    queries: dict[str, Query] = {}
    qrels: Qrels = {}
    for need in needs:
        grades: dict[str, int] = {}
        for grade, refs in ((2, need.rel2), (1, need.rel1)):
            for ref in refs:
                try:
                    cid = resolver.resolve(ref)
                except BenchmarkError as exc:
                    errors.append(f"{need.id}: {exc}")
                    continue
                grades[cid] = max(grade, grades.get(cid, 0))
        if need.out_of_scope and grades:
            errors.append(f"{need.id}: an out-of-scope need cannot have relevant chunks")
        if not need.out_of_scope and not any(g == 2 for g in grades.values()):
            errors.append(f"{need.id}: an in-scope need needs at least one grade-2 chunk")
        for lang in LANGS:
            qid = f"{need.id}-{lang}"
            queries[qid] = Query(qid, need.texts[lang], lang, need.id, need.topic, need.pillar, need.out_of_scope)
            if grades:
                qrels[qid] = dict(sorted(grades.items()))
    if errors:
        raise BenchmarkError("judgments do not resolve against the current chunks:\n  " + "\n  ".join(errors))
    return queries, qrels


# -- BEIR files ------------------------------------------------------------------------


def corpus_rows(chunks: Sequence[Chunk]) -> list[dict]:
    """One BEIR corpus row per chunk: title = citation, text = what the official reads."""
    rows = []
    for c in chunks:
        meta = {
            "doc_id": c.doc_id,
            "kind": c.kind,
            "lang": c.lang,
            "pillar": c.pillar,
            "actor": c.actor,
            "section": c.section,
            "context": c.context,
            "key": c.key,
            "translation": c.translation,
        }
        rows.append({"_id": c.id, "title": c.citation, "text": c.text, "metadata": meta})
    return rows


def write_jsonl(path: Path, rows: Iterable[dict]) -> None:
    atomic_write_text(path, "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows))


def write_qrels(path: Path, qrels: Qrels) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, delimiter="\t", lineterminator="\n")
    writer.writerow(["query-id", "corpus-id", "score"])
    for qid, docs in qrels.items():
        for cid, grade in docs.items():
            writer.writerow([qid, cid, grade])
    atomic_write_text(path, buffer.getvalue())


def write_judged(directory: Path, queries: dict[str, Query], qrels: Qrels) -> None:
    write_jsonl(directory / QUERIES_FILE, (q.to_beir() for q in queries.values()))
    write_qrels(directory / QRELS_FILE, qrels)


def with_twins(qrels: Qrels, chunks: Sequence[Chunk]) -> Qrels:
    """Qrels where every translation of a judged chunk carries its grade: the corpus holds
    each passage in several languages, and a system that finds the English twin found it."""
    twins: dict[str, list[str]] = {}
    for c in chunks:
        twins.setdefault(c.key or c.id, []).append(c.id)
    key_of = {c.id: c.key or c.id for c in chunks}
    return {
        qid: {twin: grade for cid, grade in docs.items() for twin in twins.get(key_of.get(cid, cid), [cid])}
        for qid, docs in qrels.items()
    }


def write_beir(directory: Path, chunks: Sequence[Chunk], benchmark: Benchmark) -> None:
    """A complete BEIR dataset: the current chunks (every language version) as corpus, plus
    the judged queries and qrels, twins of a judged chunk carrying its grade."""
    write_jsonl(directory / CORPUS_FILE, corpus_rows(chunks))
    write_judged(directory, benchmark.queries, with_twins(benchmark.qrels, chunks))


def read_jsonl(path: Path) -> list[dict]:
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


def read_qrels(path: Path) -> Qrels:
    qrels: Qrels = {}
    with open(path, encoding="utf-8", newline="") as handle:
        reader = csv.reader(handle, delimiter="\t")
        header = next(reader)
        if header != ["query-id", "corpus-id", "score"]:
            raise BenchmarkError(f"{path}: header must be query-id, corpus-id, score (got {header})")
        for row in reader:
            qid, cid, score = row
            qrels.setdefault(qid, {})[cid] = int(score)
    return qrels


def load_benchmark(directory: Path = BENCHMARK_DIR, with_corpus: bool = False) -> Benchmark:
    queries = {q.id: q for q in map(Query.from_beir, read_jsonl(directory / QUERIES_FILE))}
    qrels = read_qrels(directory / QRELS_FILE)
    corpus = {}
    if with_corpus:
        corpus = {row["_id"]: row for row in read_jsonl(directory / CORPUS_FILE)}
    return Benchmark(queries, qrels, corpus)


def validate(benchmark: Benchmark, chunk_ids: Iterable[str]) -> list[str]:
    """Problems that make the benchmark unusable against these chunks; empty when sound."""
    chunk_ids = set(chunk_ids)
    problems = []
    for qid, docs in benchmark.qrels.items():
        query = benchmark.queries.get(qid)
        if query is None:
            problems.append(f"qrels query {qid} is not in queries")
        elif query.out_of_scope:
            problems.append(f"out-of-scope query {qid} has qrels")
        for cid, grade in docs.items():
            if cid not in chunk_ids:
                problems.append(f"qrels {qid}: chunk {cid} does not exist")
            if grade not in (1, 2):
                problems.append(f"qrels {qid}: grade {grade} for {cid} is not 1 or 2")
    for qid, query in benchmark.queries.items():
        if query.lang not in LANGS:
            problems.append(f"query {qid}: language {query.lang!r}")
        if not query.out_of_scope and qid not in benchmark.qrels:
            problems.append(f"in-scope query {qid} has no qrels")
    return problems


def summary(benchmark: Benchmark) -> dict:
    queries = benchmark.queries.values()
    judged = [g for docs in benchmark.qrels.values() for g in docs.values()]
    return {
        "queries": len(benchmark.queries),
        "by_lang": {lang: sum(q.lang == lang for q in queries) for lang in LANGS},
        "out_of_scope": sum(q.out_of_scope for q in queries),
        "topics": sorted({q.topic for q in queries}),
        "pillars": sorted({q.pillar for q in queries if q.pillar}),
        "judgments": len(judged),
        "grade2": judged.count(2),
        "grade1": judged.count(1),
        "judged_chunks": len({c for docs in benchmark.qrels.values() for c in docs}),
    }


def rebuild(directory: Path = BENCHMARK_DIR, corpus_dir: Path | None = None) -> Benchmark:
    """Re-resolve the judgments against freshly ingested chunks and rewrite queries/qrels."""
    from boussole.ingest.pipeline import ingest_corpus

    corpus_dir = corpus_dir or Path(__file__).resolve().parent.parent / "corpus"
    chunks = ingest_corpus(corpus_dir).chunks
    queries, qrels = resolve_judgments(load_needs(directory / JUDGMENTS_FILE), chunks)
    write_judged(directory, queries, qrels)
    return Benchmark(queries, qrels)


def _main(argv: list[str]) -> int:
    if argv[:1] != ["build"]:
        print(__doc__.strip().splitlines()[2].strip(), file=sys.stderr)
        return 2
    try:
        benchmark = rebuild()
    except BenchmarkError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(json.dumps(summary(benchmark), indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main(sys.argv[1:]))
