"""The answer measured on the judged problems, each answered by an index built without it.

    python -m boussole.eval.folds [--data-dir data] [--fusion NAME=VALUE ...]

The answer benchmark's tuning half has 64 problems: one problem moves its must-recall by
0.016, a standard error is 0.03, and most ranking changes of the last rounds fell within
it. The 330 judged problems of `index/judged_problems.toml` are judged the same way (must
and acceptable items) but are the ranking's own training data: each is a statement of its
must items and a neighbour in the vote (index.judged). So they are split into FOLDS
parts; for each part an index is built with the other parts' judged problems only
(`data/eval/folds/`, built once and rebuilt when stale), and that part's problems are
answered on it, exactly as the API composes an answer. Every judged problem is then
answered by a ranking that never saw it: a second, larger set to choose on.

With `--fusion`, the same problems are answered with the index's configuration and with
the change, and the difference in must-recall is printed with its paired standard error
(the same problems both ways, so most of the problems' own spread cancels out).

What it is not: a held-out figure. The judged problems were written from the same listing
as the answer benchmark by writers working alike, and the folds' indexes hold half the
judged problems, so their figures run lower than the shipped index's. Compare a change
against the default here; report on the answer benchmark's held-out half.
"""

from __future__ import annotations

import argparse
import random
import shutil
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from boussole.eval.answers import (
    LANGS,
    AnswerScore,
    Problem,
    _Memo,
    chosen_first,
    compose_with,
    cut_grid,
    fusion_changes,
    score,
)
from boussole.index.judged import JudgedProblem
from boussole.service.cut import DEFAULT_CUT, AnswerCut

FOLDS = 2
# A change that lengthens answers gains must-recall by showing more; at a fixed length (the
# first 2 principles and 6 measures, the 8 items an answer may show) only the ranking counts.
FIXED_LENGTH = (2, 6)
FIXED_CUT = DEFAULT_CUT.with_(
    ratio=0.0, least_principles=FIXED_LENGTH[0], most_principles=FIXED_LENGTH[0],
    least_measures=FIXED_LENGTH[1], most_measures=FIXED_LENGTH[1],
)  # fmt: skip
SEED = 19  # the split's shuffle: fixed, so that the folds' indexes are built once


@dataclass(frozen=True)
class Fold:
    """The judged problems answered on `index_dir`, an index built without them."""

    number: int
    problems: tuple[JudgedProblem, ...]
    index_dir: Path


@dataclass(frozen=True)
class FoldRow:
    lang: str  # "all" for both
    problems: int
    must_recall: float
    precision: float
    shown: float


def split(judged: Sequence[JudgedProblem], folds: int = FOLDS, seed: int = SEED) -> list[tuple[JudgedProblem, ...]]:
    """`folds` disjoint parts covering every problem, the same for the same problems."""
    if folds < 2 or folds > len(judged):
        raise ValueError(f"cannot split {len(judged)} judged problems into {folds} folds")
    order = sorted(judged, key=lambda p: p.id)
    random.Random(seed).shuffle(order)
    return [tuple(order[n::folds]) for n in range(folds)]


def build_folds(
    data_dir: Path, corpus_dir: Path, folds_dir: Path | None = None, say: Callable[[str], None] = print
) -> list[Fold]:
    """Build (or reuse, when fresh) one index per fold in `folds_dir` (data_dir/eval/folds).

    Each fold's build gets its own embedding cache, seeded from the data folder's, so that
    it reuses every passage vector and cannot prune the main cache (a build keeps only the
    keys it used)."""
    from boussole.index.builder import build_index, is_fresh
    from boussole.index.encoders.base import passage_precision
    from boussole.index.encoders.factory import DEFAULT_MODEL, load_encoder
    from boussole.index.problems import load_item_problems, load_judged_problems, with_judged
    from boussole.ingest.pipeline import ingest_corpus

    ingested = ingest_corpus(corpus_dir)
    embedder = load_encoder(DEFAULT_MODEL, data_dir / "models")
    passages = passage_precision(embedder)
    statements = load_item_problems(judged=None)
    parts = split(load_judged_problems())
    out = []
    for number, held in enumerate(parts, start=1):
        folder = (folds_dir or data_dir / "eval" / "folds") / f"fold-{number}"
        index_dir, cache_dir = folder / "index", folder / "cache"
        kept = [p for other in parts if other is not held for p in other]
        problems = with_judged(statements, kept)
        if not is_fresh(
            index_dir, ingested.chunks, ingested.documents, embedder.fingerprint, passages=passages, problems=problems
        ):
            _seed_cache(data_dir / "cache", cache_dir)
            say(f"fold {number}: building an index without its {len(held)} judged problems in {index_dir}")
            build_index(ingested.chunks, ingested.documents, embedder, index_dir, cache_dir, problems=problems)
        out.append(Fold(number, held, index_dir))
    return out


def _seed_cache(main: Path, fold: Path) -> None:
    source = main / "embeddings"
    if not source.is_dir():
        return
    (fold / "embeddings").mkdir(parents=True, exist_ok=True)
    for path in source.glob("*.npz"):
        target = fold / "embeddings" / path.name
        if not target.exists():
            shutil.copyfile(path, target)


def answer(
    folds: Sequence[Fold], models_dir: Path, changes: dict | None = None
) -> tuple[list[AnswerScore], list[AnswerScore]]:
    """Every fold's problems answered on its index, with `changes` to its FusionConfig: as
    the API cuts the answer, and at FIXED_LENGTH (the ranking alone, whatever the length)."""
    opened = open_folds(folds, models_dir, changes)
    return answers_with(opened, DEFAULT_CUT), answers_with(opened, FIXED_CUT)


def open_folds(folds: Sequence[Fold], models_dir: Path, changes: dict | None = None) -> list[tuple[Fold, _Memo]]:
    """Each fold with its index's searcher (`changes` to its FusionConfig), remembering its
    rankings: a sweep composes each answer many times from the same ones."""
    from boussole.index import store
    from boussole.index.searcher import Searcher

    out = []
    for fold in folds:
        searcher = Searcher.open(store.resolve(fold.index_dir), models_dir)
        if changes:
            searcher.fusion = searcher.fusion.with_(**changes)
        out.append((fold, _Memo(searcher)))
    return out


def answers_with(opened: Sequence[tuple[Fold, _Memo]], cut: AnswerCut) -> list[AnswerScore]:
    scores = []
    for fold, searcher in opened:
        compose = compose_with(searcher, answer_cut=cut)
        for p in fold.problems:
            problem = Problem(p.id, p.lang, f"fold {fold.number}", "", p.text, p.must, p.good, ())
            scores.append(score(problem, compose(problem)))
    return scores


def sweep(
    opened: Sequence[tuple[Fold, _Memo]], grid: Sequence[AnswerCut] | None = None
) -> list[tuple[AnswerCut, FoldRow, tuple[float, float]]]:
    """Every cut of `grid` (eval.answers.cut_grid) with its figures and its must-recall
    difference to the shipped cut (paired standard error), ordered as the answer
    benchmark's sweep orders them: the chosen one first."""
    shipped = answers_with(opened, DEFAULT_CUT)
    scored = []
    for cut in grid if grid is not None else cut_grid():
        scores = answers_with(opened, cut)
        scored.append((cut, summarise(scores)[-1], paired_difference(shipped, scores)))
    return chosen_first(scored)


def summarise(scores: Sequence[AnswerScore]) -> list[FoldRow]:
    rows = []
    for lang in (*LANGS, "all"):
        subset = [s for s in scores if lang == "all" or s.problem.lang == lang]
        if not subset:
            continue
        precisions = [s.precision for s in subset if s.precision is not None]
        rows.append(
            FoldRow(
                lang,
                len(subset),
                statistics.mean(s.must_recall for s in subset),
                statistics.mean(precisions) if precisions else 0.0,
                statistics.mean(len(s.shown) for s in subset),
            )
        )
    return rows


def paired_difference(before: Sequence[AnswerScore], after: Sequence[AnswerScore]) -> tuple[float, float]:
    """Mean must-recall difference (after - before) over the same problems, and its standard error."""
    if [s.problem.id for s in before] != [s.problem.id for s in after]:
        raise ValueError("the two runs did not answer the same problems in the same order")
    diffs = [a.must_recall - b.must_recall for b, a in zip(before, after, strict=True)]
    spread = statistics.stdev(diffs) if len(diffs) > 1 else 0.0
    return statistics.mean(diffs), spread / len(diffs) ** 0.5


def text_table(rows: Sequence[FoldRow], label: str) -> str:
    lines = [f"  {label:<26}  lang  problems  must-recall  precision  shown"]
    for r in rows:
        lines.append(
            f"  {'':<26}  {r.lang:<4}  {r.problems:>8}  {r.must_recall:>11.3f}  {r.precision:>9.3f}  {r.shown:>5.1f}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--corpus-dir", type=Path, default=Path("corpus"))
    parser.add_argument(
        "--fusion",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="also answer with this index.config.FusionConfig field changed, and print the difference (repeatable)",
    )
    parser.add_argument(
        "--sweep", action="store_true", help="score the answer sweep's grid of cuts instead (a few minutes)"
    )
    args = parser.parse_args(argv)
    try:
        changes = fusion_changes(args.fusion)
    except ValueError as exc:
        parser.error(str(exc))
    if not (args.data_dir / "models").is_dir():
        raise SystemExit(f"no models in {args.data_dir}: run `boussole build` first")
    folds = build_folds(args.data_dir, args.corpus_dir)
    models_dir = args.data_dir / "models"
    if args.sweep:
        print("ratio  least/most principles  least/most measures  recall precision shown  vs the shipped cut")
        for c, row, (diff, error) in sweep(open_folds(folds, models_dir, changes))[:25]:
            print(
                f"{c.ratio:>5}  {c.least_principles}/{c.most_principles:<20}  {c.least_measures}/{c.most_measures:<17}  "
                f"{row.must_recall:.3f}  {row.precision:.3f}  {row.shown:4.1f}  {diff:+.3f} ({error:.3f})"
            )
        return
    runs = {"index's configuration": answer(folds, models_dir)}
    if changes:
        runs[" ".join(f"{k}={v}" for k, v in changes.items())] = answer(folds, models_dir, changes)
    length = f"{FIXED_LENGTH[0]} principles + {FIXED_LENGTH[1]} measures"
    for label, (as_cut, fixed) in runs.items():
        print(f"\n{label}")
        print(text_table(summarise(as_cut), "as the API cuts it"))
        print(text_table(summarise(fixed), length))
    if changes:
        (before_cut, before_fixed), (after_cut, after_fixed) = runs.values()
        print(f"\nmust-recall difference, {len(before_cut)} problems (paired standard error):")
        for name, before, after in (("as cut", before_cut, after_cut), (length, before_fixed, after_fixed)):
            diff, error = paired_difference(before, after)
            print(f"  {name:<26} {diff:+.3f} ({error:.3f})")


if __name__ == "__main__":
    main()
