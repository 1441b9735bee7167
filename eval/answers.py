"""The answer benchmark: is what /v1/recommend shows what an official must see, and only that?

    python -m boussole.eval.answers [--data-dir data] [--half held-out] [--show] [--problem-share 0]

`eval/benchmark/answers.toml` holds 128 problems (64 per language, half of each in the
tuning half), each with the guidelines' items an official must see and the items
acceptable to show (its header says how they were judged). For each problem the answer is
composed exactly as the API composes it (`service.recommend.recommend`, shown in the
problem's language) and scored:

- must-recall: the share of the problem's `must` items among the principles and measures shown;
- precision: the share of the principles and measures shown that are `must` or `good`;
- shown: how many principles and measures the answer shows;
- example: for problems with a relevant city example, whether one is shown.

A translation shown in place of its original counts as the original (judgments are on the
passage). Figures are means over problems, per half and language, held-out first.

`eval/benchmark/answers_second.toml` is a second judge's reading of 32 of the problems,
made without seeing their judgments, with the answer of at most 8 items that judge would
show. Scored the same way beside the system's answer, it says what a careful reader
reaches on this benchmark, so that the answer's targets are read against it.
"""

from __future__ import annotations

import argparse
import statistics
import tomllib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from boussole.eval.benchmark import BENCHMARK_DIR, BenchmarkError

if TYPE_CHECKING:
    from boussole.service.cut import AnswerCut

ANSWERS_FILE = BENCHMARK_DIR / "answers.toml"
SECOND_READING_FILE = BENCHMARK_DIR / "answers_second.toml"
READER_LIMIT = 8  # items a second reader's answer may show: the answer's own limit (SWEEP_LIMIT)
HALVES = ("held-out", "tuning")
LANGS = ("fr", "en")
SHOWN_KINDS = ("principle", "measure")
T = TypeVar("T")


@dataclass(frozen=True)
class Problem:
    id: str
    lang: str
    half: str
    topic: str
    text: str
    must: tuple[str, ...]
    good: tuple[str, ...]
    examples: tuple[str, ...]


@dataclass(frozen=True)
class AnswerScore:
    problem: Problem
    shown: tuple[str, ...]  # ids (authoritative) of the principles and measures shown, in order
    examples_shown: tuple[str, ...]

    @property
    def must_recall(self) -> float:
        return sum(1 for m in self.problem.must if m in self.shown) / len(self.problem.must)

    @property
    def precision(self) -> float | None:
        """None for an answer that shows nothing (there is nothing to be precise about)."""
        if not self.shown:
            return None
        fitting = set(self.problem.must) | set(self.problem.good)
        return sum(1 for s in self.shown if s in fitting) / len(self.shown)

    @property
    def example_hit(self) -> bool | None:
        """None when the problem has no relevant city example."""
        if not self.problem.examples:
            return None
        return any(e in self.problem.examples for e in self.examples_shown)

    @property
    def missed(self) -> tuple[str, ...]:
        return tuple(m for m in self.problem.must if m not in self.shown)

    @property
    def off_topic(self) -> tuple[str, ...]:
        fitting = set(self.problem.must) | set(self.problem.good)
        return tuple(s for s in self.shown if s not in fitting)


@dataclass(frozen=True)
class AnswerRow:
    half: str
    lang: str  # "all" for both
    problems: int
    must_recall: float
    precision: float
    shown: float
    empty: int  # answers that showed no principle or measure
    example_rate: float | None  # share of problems with a relevant example that showed one
    with_examples: int


@dataclass(frozen=True)
class SecondReading:
    """Another judge's reading of a problem, made without seeing its judgments: what that
    judge calls must and good, and the answer (at most READER_LIMIT items, most important
    first) they would show. Scored like the system's answer, it says what a careful reader
    reaches on this benchmark."""

    id: str
    must: tuple[str, ...]
    good: tuple[str, ...]
    answer: tuple[str, ...]


def _read_entries(path: Path, table: str, build: Callable[[dict], T]) -> list[T]:
    """Each `[[table]]` entry of a TOML file as a record; a missing field names its entry."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise BenchmarkError(f"{path}: {exc}") from exc
    records = []
    for entry in data.get(table, []):
        try:
            records.append(build(entry))
        except KeyError as exc:
            raise BenchmarkError(f"{path}: {table} {entry.get('id', '?')} lacks {exc}") from exc
    return records


def load_problems(path: Path = ANSWERS_FILE) -> list[Problem]:
    return _read_entries(
        path,
        "problem",
        lambda entry: Problem(
            id=entry["id"],
            lang=entry["lang"],
            half=entry["half"],
            topic=entry.get("topic", ""),
            text=entry["text"],
            must=tuple(entry["must"]),
            good=tuple(entry.get("good", ())),
            examples=tuple(entry.get("examples", ())),
        ),
    )


def check_problems(problems: Sequence[Problem], chunks: Iterable) -> list[str]:
    """What makes the answer set unusable against these chunks; empty when sound."""
    kinds = {c.id: c.kind for c in chunks if c.translation is None}
    errors, seen = [], set()
    for p in problems:
        if p.id in seen:
            errors.append(f"{p.id}: duplicate id")
        seen.add(p.id)
        if p.lang not in LANGS or p.half not in HALVES:
            errors.append(f"{p.id}: lang {p.lang!r} / half {p.half!r}")
        if not p.must:
            errors.append(f"{p.id}: no must item")
        if set(p.must) & set(p.good):
            errors.append(f"{p.id}: {sorted(set(p.must) & set(p.good))} both must and good")
        for ref in p.must + p.good:
            if kinds.get(ref) not in SHOWN_KINDS:
                errors.append(f"{p.id}: {ref} is not a principle or measure of the corpus")
        for ref in p.examples:
            if kinds.get(ref) != "city-example":
                errors.append(f"{p.id}: {ref} is not a city example of the corpus")
    return errors


def load_second_readings(path: Path = SECOND_READING_FILE) -> list[SecondReading]:
    return _read_entries(
        path,
        "judgment",
        lambda entry: SecondReading(
            id=entry["id"],
            must=tuple(entry["must"]),
            good=tuple(entry.get("good", ())),
            answer=tuple(entry["answer"]),
        ),
    )


def check_second_readings(
    readings: Sequence[SecondReading], problems: Sequence[Problem], chunks: Iterable
) -> list[str]:
    """What makes the second reading unusable; empty when sound."""
    kinds = {c.id: c.kind for c in chunks if c.translation is None}
    known = {p.id for p in problems}
    errors, seen = [], set()
    for r in readings:
        if r.id not in known or r.id in seen:
            errors.append(f"{r.id}: {'duplicate' if r.id in seen else 'no such problem in answers.toml'}")
        seen.add(r.id)
        if not 1 <= len(r.answer) <= READER_LIMIT:
            errors.append(f"{r.id}: the answer shows {len(r.answer)} items (1 to {READER_LIMIT})")
        if not set(r.answer) <= set(r.must) | set(r.good):
            errors.append(
                f"{r.id}: {sorted(set(r.answer) - set(r.must) - set(r.good))} shown but neither must nor good"
            )
        for ref in r.must + r.good:
            if kinds.get(ref) not in SHOWN_KINDS:
                errors.append(f"{r.id}: {ref} is not a principle or measure of the corpus")
    return errors


def reader_scores(problems: Sequence[Problem], readings: Sequence[SecondReading]) -> list[AnswerScore]:
    """The second readers' answers scored against answers.toml, as the system's are."""
    by_id = {p.id: p for p in problems}
    return [AnswerScore(by_id[r.id], r.answer, ()) for r in readings if r.id in by_id]


def reader_table(system: Sequence[AnswerScore], reader: Sequence[AnswerScore]) -> str:
    """The system beside a second reader, on the problems the reader judged: per half, all
    languages (8 problems per half and language are too few to split further)."""
    read = {s.problem.id for s in reader}
    lines = [
        "half      problems  system: recall precision shown   second reader: recall precision shown",
        "--------  --------  -----------------------------   ------------------------------------",
    ]
    for half in (*HALVES, "both"):
        pair = []
        for scores in (system, reader):
            subset = [s for s in scores if s.problem.id in read and half in (s.problem.half, "both")]
            precisions = [s.precision for s in subset if s.precision is not None]
            pair.append(
                (
                    len(subset),
                    statistics.mean(s.must_recall for s in subset) if subset else 0.0,
                    statistics.mean(precisions) if precisions else 0.0,
                    statistics.mean(len(s.shown) for s in subset) if subset else 0.0,
                )
            )
        (n, sr, sp, ss), (_, rr, rp, rs) = pair
        if not n:  # a half left out (--half)
            continue
        lines.append(f"{half:<8}  {n:>8}  {sr:>14.3f} {sp:>9.3f} {ss:>5.1f}   {rr:>21.3f} {rp:>9.3f} {rs:>5.1f}")
    return "\n".join(lines)


Compose = Callable[[Problem], object]  # a problem → a service.recommend.Recommendation


def score(problem: Problem, recommendation) -> AnswerScore:
    """The recommendation's principles and measures (authoritative ids) against the judgments."""

    def source(item) -> str:
        return (item.original or item.chunk).id

    shown = [source(i) for i in recommendation.principles]
    shown += [source(i) for group in recommendation.measures for i in group.measures]
    return AnswerScore(problem, tuple(shown), tuple(source(i) for i in recommendation.examples))


def run(problems: Sequence[Problem], compose: Compose) -> list[AnswerScore]:
    return [score(p, compose(p)) for p in problems]


def summarise(scores: Sequence[AnswerScore]) -> list[AnswerRow]:
    rows = []
    for half in HALVES:
        for lang in (*LANGS, "all"):
            subset = [s for s in scores if s.problem.half == half and (lang == "all" or s.problem.lang == lang)]
            if not subset:
                continue
            precisions = [s.precision for s in subset if s.precision is not None]
            hits = [s.example_hit for s in subset if s.example_hit is not None]
            rows.append(
                AnswerRow(
                    half=half,
                    lang=lang,
                    problems=len(subset),
                    must_recall=statistics.mean(s.must_recall for s in subset),
                    precision=statistics.mean(precisions) if precisions else 0.0,
                    shown=statistics.mean(len(s.shown) for s in subset),
                    empty=sum(1 for s in subset if not s.shown),
                    example_rate=(sum(hits) / len(hits)) if hits else None,
                    with_examples=len(hits),
                )
            )
    return rows


def text_table(rows: Sequence[AnswerRow]) -> str:
    lines = [
        "half      lang  problems  must-recall  precision  shown  empty  example",
        "--------  ----  --------  -----------  ---------  -----  -----  -------",
    ]
    for r in rows:
        example = f"{r.example_rate:.2f} of {r.with_examples}" if r.example_rate is not None else "-"
        lines.append(
            f"{r.half:<8}  {r.lang:<4}  {r.problems:>8}  {r.must_recall:>11.3f}  {r.precision:>9.3f}  "
            f"{r.shown:>5.1f}  {r.empty:>5}  {example}"
        )
    return "\n".join(lines)


def compose_with(searcher, **options) -> Compose:
    """The API's composition (service.recommend), in the problem's language."""
    from boussole.index.scope import assess_scope
    from boussole.service.recommend import recommend

    return lambda p: recommend(searcher, p.text, assess=assess_scope, answer_lang=p.lang, **options)


class _Memo:
    """A searcher whose answers are remembered: the sweep composes each problem's answer
    many times from the same rankings."""

    def __init__(self, searcher) -> None:
        self._searcher = searcher
        self._seen: dict[tuple, object] = {}

    def search(self, query, k=10, filters=None, mode="hybrid", answer_lang="auto", fusion=None):
        key = (query, k, filters, mode, answer_lang, fusion)
        if key not in self._seen:
            kwargs = {"filters": filters} if filters is not None else {}
            self._seen[key] = self._searcher.search(
                query, k=k, mode=mode, answer_lang=answer_lang, fusion=fusion, **kwargs
            )
        return self._seen[key]

    def __getattr__(self, name):
        return getattr(self._searcher, name)


def f_score(row: AnswerRow) -> float:
    """Harmonic mean of must-recall and precision: printed beside the objective."""
    total = row.must_recall + row.precision
    return 2 * row.must_recall * row.precision / total if total else 0.0


# What an answer must reach on the held-out half (docs/evaluation.md); the sweep's objective
# is the distance to these targets.
TARGET_RECALL = 0.80
TARGET_PRECISION = 0.70
SWEEP_LIMIT = 8.0  # mean principles and measures shown: the most an official should have to read
TIE = 0.005  # objective differences under this are noise on 32 problems: the shorter answer wins


class Figures(Protocol):
    """An answer set's means: AnswerRow here, eval.folds.FoldRow there."""

    @property
    def must_recall(self) -> float: ...
    @property
    def precision(self) -> float: ...
    @property
    def shown(self) -> float: ...


def shortfall(row: Figures) -> float:
    """How far an answer is from the targets: the larger of its recall and precision gaps
    (0 once both are met). F weighs the two alike whatever the targets; this follows the
    one furthest from its target, which is must-recall."""
    return max(0.0, TARGET_RECALL - row.must_recall, TARGET_PRECISION - row.precision)


def sweep(searcher, problems: Sequence[Problem]) -> list[tuple[AnswerCut, AnswerRow, AnswerRow | None]]:
    """Every AnswerCut of the grid with its tuning and held-out rows (all languages), the
    chosen one first: among the cuts showing at most SWEEP_LIMIT items on the tuning half,
    those within TIE of the smallest shortfall, the shortest answer first, then the
    largest minimums; the other cuts after them by shortfall."""
    memo = _Memo(searcher)
    out = []
    for cut in cut_grid():
        rows = {(r.half, r.lang): r for r in summarise(run(problems, compose_with(memo, answer_cut=cut)))}
        out.append((cut, rows[("tuning", "all")], rows.get(("held-out", "all"))))
    return chosen_first(out)


def cut_grid() -> list[AnswerCut]:
    """The cuts a sweep scores: ratio to the best item of its kind, least and most of each kind."""
    from boussole.service.cut import DEFAULT_CUT

    return [
        DEFAULT_CUT.with_(ratio=r, least_principles=lp, most_principles=mp, least_measures=lm, most_measures=mm)
        for r in (0.0, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
        for lp in (0, 1)
        for mp in (2, 3, 5)
        for lm in (1, 2, 3)
        for mm in (3, 5, 8, 10)
        if lp <= mp and lm <= mm
    ]


F = TypeVar("F", bound=Figures)
R = TypeVar("R")


def chosen_first(scored: Sequence[tuple[AnswerCut, F, R]]) -> list[tuple[AnswerCut, F, R]]:
    """(cut, row, extra) triples, the chosen cut first: among the cuts whose row shows at
    most SWEEP_LIMIT items, those within TIE of the smallest shortfall, the shortest answer
    first, then the largest minimums; the other cuts after them by shortfall."""
    fits = [o for o in scored if o[1].shown <= SWEEP_LIMIT]
    best = min((shortfall(o[1]) for o in fits), default=0.0)

    def order(o) -> tuple:
        cut, row = o[0], o[1]
        if shortfall(row) <= best + TIE:
            return (0, round(row.shown, 1), -(cut.least_principles + cut.least_measures), shortfall(row))
        return (1, shortfall(row), row.shown, 0)

    return sorted(fits, key=order) + [o for o in scored if o[1].shown > SWEEP_LIMIT]


def fusion_changes(settings: Sequence[str]) -> dict[str, float | int | bool]:
    """`NAME=VALUE` strings as changes to the index's FusionConfig, each value read as its
    field's type; centring is fixed when an index is built, so it cannot change here."""
    from dataclasses import fields

    from boussole.index.config import FusionConfig

    kinds = {f.name: getattr(f.type, "__name__", str(f.type)) for f in fields(FusionConfig) if f.name != "centre"}
    changes: dict[str, float | int | bool] = {}
    for setting in settings:
        name, _, value = setting.partition("=")
        if name not in kinds or not value:
            raise ValueError(f"--fusion {setting!r}: expected NAME=VALUE, NAME one of {', '.join(sorted(kinds))}")
        try:
            if kinds[name] == "bool":
                if value.lower() not in ("true", "false"):
                    raise ValueError(value)
                changes[name] = value.lower() == "true"
            else:
                changes[name] = int(value) if kinds[name] == "int" else float(value)
        except ValueError:
            raise ValueError(f"--fusion {setting!r}: {name} takes a {kinds[name]}") from None
    return changes


def main(argv: list[str] | None = None) -> None:
    from boussole.index import store
    from boussole.index.searcher import Searcher
    from boussole.ingest.pipeline import ingest_corpus

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--corpus-dir", type=Path, default=Path("corpus"))
    parser.add_argument("--half", choices=HALVES, help="only this half")
    parser.add_argument("--show", action="store_true", help="print each answer's misses and off-topic items")
    parser.add_argument("--sweep", action="store_true", help="score a grid of answer cuts on the tuning half")
    parser.add_argument(
        "--held-out",
        action="store_true",
        help="with --sweep, also print the held-out half (only once a cut is chosen: it must not steer the choice)",
    )
    parser.add_argument(
        "--problem-share",
        type=float,
        help="rank with this item-problem share (index.config.FusionConfig.problem_share)",
    )
    parser.add_argument(
        "--fusion",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="rank with this index.config.FusionConfig field changed, e.g. paragraph_lift=0.2 (repeatable)",
    )
    args = parser.parse_args(argv)
    try:
        changes = fusion_changes(args.fusion)
    except ValueError as exc:
        parser.error(str(exc))
    problems = load_problems()
    chunks = ingest_corpus(args.corpus_dir).chunks
    errors = check_problems(problems, chunks)
    if errors:
        raise SystemExit("answers.toml does not match the chunks:\n  " + "\n  ".join(errors))
    if args.half:
        problems = [p for p in problems if p.half == args.half]
    searcher = Searcher.open(store.resolve(args.data_dir / "index"), args.data_dir / "models")
    if args.problem_share is not None:
        changes.setdefault("problem_share", args.problem_share)
    searcher.fusion = searcher.fusion.with_(**changes)
    if args.sweep:
        held_header = "   held-out: recall precision shown F shortfall" if args.held_out else ""
        print(
            "ratio  least/most principles  least/most measures   tuning: recall precision shown F shortfall"
            + held_header
        )
        for cut, tuning, held in sweep(searcher, problems)[:25]:
            held_row = (
                f"   {held.must_recall:.3f} {held.precision:.3f} {held.shown:4.1f} {f_score(held):.3f} {shortfall(held):.3f}"
                if args.held_out and held is not None
                else ""
            )
            print(
                f"{cut.ratio:>5}  {cut.least_principles}/{cut.most_principles:<20}  "
                f"{cut.least_measures}/{cut.most_measures:<18}  {tuning.must_recall:.3f} {tuning.precision:.3f} "
                f"{tuning.shown:4.1f} {f_score(tuning):.3f} {shortfall(tuning):.3f}{held_row}"
            )
        return
    scores = run(problems, compose_with(searcher))
    print(text_table(summarise(scores)))
    readings = load_second_readings()
    errors = check_second_readings(readings, load_problems(), chunks)
    if errors:
        raise SystemExit("answers_second.toml does not match answers.toml or the chunks:\n  " + "\n  ".join(errors))
    print(f"\nOn the {len(readings)} problems a second judge read (eval/benchmark/answers_second.toml):")
    print(reader_table(scores, reader_scores(problems, readings)))
    if args.show:
        for s in scores:
            print(
                f"\n{s.problem.id} {s.problem.lang} {s.problem.half} {s.problem.topic}: recall {s.must_recall:.2f} "
                f"precision {s.precision if s.precision is not None else '-'} shown {len(s.shown)}"
            )
            print(f"  missed: {' '.join(s.missed) or '-'}")
            print(f"  off-topic: {' '.join(s.off_topic) or '-'}")


if __name__ == "__main__":
    main()
