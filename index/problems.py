"""Item problems (index/item_problems.toml): what each principle and measure is about, in
the words of the officials who need it.

A question is a concrete situation; an item of the guidelines is abstract policy text. Each
item therefore gets a second representation: the mean of its problem statements' query-side
vectors (e5, centred like a question, and USE). The searcher adds `problem_weight` × the
question's similarity to that mean to the item's dense score, and takes the items whose
statements are closest as candidates too (index.searcher). A mean of similarities is the
similarity to the mean vector, so one vector per item and encoder is all an index stores.
Statements are compared with questions as questions (query prompt, query centring): they
are the same kind of text.
"""

from __future__ import annotations

import json
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from boussole.index.cache import EmbeddingCache
from boussole.index.calibrate import embed_questions
from boussole.index.centring import centre
from boussole.index.text import lexical_text
from boussole.ingest.models import Chunk

PROBLEMS_FILE = Path(__file__).resolve().parent / "item_problems.toml"


@dataclass(frozen=True)
class ItemProblems:
    """Problem statements per item key ("hsp-ha-2-14:40.b"), per language."""

    statements: Mapping[str, Mapping[str, tuple[str, ...]]]

    def texts(self) -> list[str]:
        """Every statement once, in file order: what an index's identity hashes."""
        return [t for by_lang in self.statements.values() for lang in sorted(by_lang) for t in by_lang[lang]]

    def identity(self) -> str:
        """Keys and statements, for the index's identity (a moved statement changes it too)."""
        return json.dumps({k: {lang: list(v) for lang, v in by_lang.items()} for k, by_lang in self.statements.items()})


@dataclass(frozen=True)
class ProblemVectors:
    """Per index row (every version of an item gets its item's vectors): the mean centred
    e5 and mean USE vector of the item's statements; `rows` lists the rows that have them."""

    rows: np.ndarray  # (n,) int64
    e5: np.ndarray  # (n, d)
    use: np.ndarray  # (n, d_use)

    @classmethod
    def empty(cls, dim: int, use_dim: int) -> ProblemVectors:
        return cls(np.zeros(0, np.int64), np.zeros((0, dim), np.float32), np.zeros((0, use_dim), np.float32))


def load_item_problems(path: Path = PROBLEMS_FILE) -> ItemProblems:
    """Read and check the file: one entry per key, each a table of lists of statements."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: unreadable item problems ({exc})") from exc
    statements: dict[str, dict[str, tuple[str, ...]]] = {}
    for n, entry in enumerate(data.get("item", []), start=1):
        key = entry.get("key")
        if not isinstance(key, str) or not key:
            raise ValueError(f"{path}: item {n} has no key")
        if key in statements:
            raise ValueError(f"{path}: key {key!r} appears twice")
        by_lang = {}
        for lang, texts in entry.items():
            if lang == "key":
                continue
            if not isinstance(texts, list) or not all(isinstance(t, str) and t.strip() for t in texts):
                raise ValueError(f"{path}: {key} [{lang}] must be a list of non-empty strings")
            by_lang[lang] = tuple(t.strip() for t in texts)
        statements[key] = by_lang
    return ItemProblems(statements)


def embed_statements(problems: ItemProblems, e5, use, e5_cache: EmbeddingCache, use_cache: EmbeddingCache) -> None:
    """Encode every statement into the caches (the builder calls it while passages encode)."""
    texts = problems.texts()
    embed_questions(e5, texts, e5_cache)
    embed_questions(use, texts, use_cache)


def problem_vectors(
    chunks: Sequence[Chunk],
    problems: ItemProblems,
    e5,
    use,
    e5_cache: EmbeddingCache,
    use_cache: EmbeddingCache,
    query_means: Mapping[str, np.ndarray] | None,
) -> ProblemVectors:
    """The rows of `chunks` whose key has statements, with their items' mean vectors.
    `query_means` centres each statement by its language like a question (None: the index
    is not centred). Keys without a chunk are ignored: another corpus simply has none."""
    keyed: dict[str, list[int]] = {}
    for row, chunk in enumerate(chunks):
        if chunk.key in problems.statements:
            keyed.setdefault(chunk.key, []).append(row)
    rows, e5_rows, use_rows = [], [], []
    for key, item_rows in keyed.items():
        by_lang = problems.statements[key]
        texts = [t for lang in sorted(by_lang) for t in by_lang[lang]]
        if not texts:
            continue
        langs = [lang for lang in sorted(by_lang) for _ in by_lang[lang]]
        e5_vectors = embed_questions(e5, texts, e5_cache)
        if query_means is not None:
            e5_vectors = np.stack(
                [centre(v[None, :], query_means.get(lang, np.zeros_like(v)))[0] for v, lang in zip(e5_vectors, langs)]
            )
        e5_mean = e5_vectors.mean(axis=0)
        use_mean = embed_questions(use, texts, use_cache).mean(axis=0)
        for row in item_rows:
            rows.append(row)
            e5_rows.append(e5_mean)
            use_rows.append(use_mean)
    if not rows:
        return ProblemVectors.empty(e5.dim, use.dim)
    return ProblemVectors(
        np.array(rows, np.int64), np.stack(e5_rows).astype(np.float32), np.stack(use_rows).astype(np.float32)
    )


def with_item_problems(
    calibration, chunks: Sequence[Chunk], problems: ItemProblems, e5, use, e5_cache, use_cache, centred: bool
):
    """`calibration` (index.calibrate.CalibrationVectors) carrying the item problems' vectors
    for `chunks`: what the builder and the in-memory backend store with an index."""
    vectors = problem_vectors(
        chunks, problems, e5, use, e5_cache, use_cache, calibration.query_means if centred else None
    )
    return calibration.with_problems(vectors)


def lexical_texts(chunks: Sequence[Chunk], problems: ItemProblems | None = None) -> list[str]:
    """What BM25 indexes per chunk: its lexical text (index.text.lexical_text) and, for an
    item, its problem statements in every language (tuning halves, four statements per
    language: answer F 0.568 → 0.576 and nDCG@10 0.606 → 0.618 with every language's
    statements; 0.571 and 0.606 with the chunk's language alone). Pseudo-relevance feedback
    still draws its terms from the lexical text alone: feedback from the statements too
    gave 0.587 F but no nDCG gain."""
    problems = problems if problems is not None else load_item_problems()
    texts = []
    for chunk in chunks:
        statements = problems.statements.get(chunk.key, {})
        texts.append("\n".join([lexical_text(chunk), *(t for lang in sorted(statements) for t in statements[lang])]))
    return texts
