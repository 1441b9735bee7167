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

Judged problems (index/judged_problems.toml) add the long, many-sided texts officials
write: each becomes one more statement of every item it must show, so an item's vector
also carries the situations it is one of several answers to; kept whole, they also vote
for their items when a question resembles them (index.judged).
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
from boussole.index.centring import centre_by_language
from boussole.index.judged import JudgedProblem, judged_vectors
from boussole.index.text import lexical_text
from boussole.ingest.models import Chunk

PROBLEMS_FILE = Path(__file__).resolve().parent / "item_problems.toml"
JUDGED_FILE = Path(__file__).resolve().parent / "judged_problems.toml"


@dataclass(frozen=True)
class ItemProblems:
    """Problem statements per item key ("hsp-ha-2-14:40.b"), per language."""

    statements: Mapping[str, Mapping[str, tuple[str, ...]]]
    judged: tuple[JudgedProblem, ...] = ()  # the judged problems folded into `statements`

    def texts(self) -> list[str]:
        """Every statement once, in file order (a judged problem is a statement of several
        items, and is encoded once)."""
        return list(
            dict.fromkeys(t for by_lang in self.statements.values() for lang in sorted(by_lang) for t in by_lang[lang])
        )

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


def load_item_problems(path: Path = PROBLEMS_FILE, judged: Path | None = JUDGED_FILE) -> ItemProblems:
    """Read and check the file: one entry per key, each a table of lists of statements;
    then each judged problem (`judged`, None for none) after the statements of its must items."""
    data = _read_toml(path, "item problems")
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
    return with_judged(ItemProblems(statements), load_judged_problems(judged) if judged is not None else ())


def with_judged(problems: ItemProblems, judged: Sequence[JudgedProblem]) -> ItemProblems:
    """`problems` with `judged` added, each text one more statement of its must items (after
    theirs). Separate from the file so that an evaluation can build an index with only some
    of the judged problems (eval.folds: each problem answered by an index that lacks it)."""
    statements = {key: dict(by_lang) for key, by_lang in problems.statements.items()}
    for problem in judged:
        for key in problem.must:
            by_lang = statements.setdefault(key, {})
            by_lang[problem.lang] = (*by_lang.get(problem.lang, ()), problem.text)
    return ItemProblems(statements, (*problems.judged, *judged))


def _read_toml(path: Path, what: str) -> dict:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"{path}: unreadable {what} ({exc})") from exc


def load_judged_problems(path: Path = JUDGED_FILE) -> list[JudgedProblem]:
    """Read and check the judged problems: each with an id, a text, a language and a
    non-empty list of must items (`good`, optional, the acceptable ones)."""
    out, seen = [], set()
    for n, entry in enumerate(_read_toml(path, "judged problems").get("problem", []), start=1):
        name = entry.get("id") or f"problem {n}"
        text, lang, must, good = entry.get("text"), entry.get("lang"), entry.get("must"), entry.get("good", [])
        if name in seen:
            raise ValueError(f"{path}: {name} appears twice")
        seen.add(name)
        if not isinstance(text, str) or not text.strip() or not isinstance(lang, str) or not lang:
            raise ValueError(f"{path}: {name} needs a text and a lang")
        for field_name, keys in (("must", must), ("good", good)):
            if not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys):
                raise ValueError(f"{path}: {name}: `{field_name}` must be a list of item keys")
        if not must:
            raise ValueError(f"{path}: {name} must be a non-empty list of item keys")
        out.append(JudgedProblem(name, lang, text.strip(), tuple(must), tuple(good)))
    return out


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
            e5_vectors = centre_by_language(e5_vectors, langs, query_means)
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
    and the judged problems' (index.judged) for `chunks`: what the builder and the
    in-memory backend store with an index."""
    means = calibration.query_means if centred else None
    vectors = problem_vectors(chunks, problems, e5, use, e5_cache, use_cache, means)
    judged = judged_vectors(chunks, problems.judged, e5, use, e5_cache, use_cache, means)
    return calibration.with_problems(vectors).with_judged(judged)


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
