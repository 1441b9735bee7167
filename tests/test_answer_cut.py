"""Where the answer stops (service.cut) and how the answer benchmark scores it
(eval.answers): pure functions on real corpus text, no model."""

from __future__ import annotations

import re
from types import SimpleNamespace

import pytest

from boussole.eval.answers import (
    AnswerRow,
    Problem,
    SecondReading,
    check_problems,
    check_second_readings,
    load_problems,
    load_second_readings,
    reader_scores,
    reader_table,
    score,
    shortfall,
    summarise,
)
from boussole.service.cut import DEFAULT_CUT, cut, fold_contained


def test_cut_keeps_what_scores_near_the_best_within_bounds():
    items = [10.0, 9.0, 6.0, 4.9, 4.0, 1.0]
    shown, rest = cut(items, float, ratio=0.5, least=1, most=8)
    assert shown == [10.0, 9.0, 6.0] and rest == [4.9, 4.0, 1.0]  # 4.9 < 0.5 × 10
    assert cut(items, float, ratio=0.5, least=1, most=2)[0] == [10.0, 9.0]  # at most
    assert cut(items, float, ratio=0.95, least=2, most=8)[0] == [10.0, 9.0]  # at least
    assert cut([], float, 0.5, 1, 8) == ([], [])


def test_near_identical_items_are_folded_only_within_one_actor(corpus_chunks):
    by_id = {c.id: c for c in corpus_chunks}
    words = lambda c: frozenset(re.findall(r"\w+", c.text.lower()))  # noqa: E731
    group = lambda c: (c.kind, c.actor)  # noqa: E731
    # 80 (e) is 80 (d) and one more sentence: shown once, as the better-ranked one
    pair = [by_id["hsp-ha-2-14:80.e"], by_id["hsp-ha-2-14:80.d"]]
    assert fold_contained(pair, words, group, DEFAULT_CUT.fold_containment) == pair[:1]
    # 54 (f) (national governments) and 55 (b) (local and regional) say nearly the same to two actors
    pair = [by_id["hsp-ha-2-14:54.f"], by_id["hsp-ha-2-14:55.b"]]
    assert fold_contained(pair, words, group, DEFAULT_CUT.fold_containment) == pair
    # two different measures of one list are both kept
    pair = [by_id["hsp-ha-2-14:40.a"], by_id["hsp-ha-2-14:40.b"]]
    assert fold_contained(pair, words, group, DEFAULT_CUT.fold_containment) == pair


def test_the_answer_set_is_balanced_and_resolves(corpus_chunks):
    problems = load_problems()
    assert check_problems(problems, corpus_chunks) == []
    assert len(problems) >= 60
    for lang in ("fr", "en"):
        for half in ("tuning", "held-out"):
            assert sum(p.lang == lang and p.half == half for p in problems) >= 15, (lang, half)
    assert all(1 <= len(p.must) <= 8 for p in problems)


def test_the_second_reading_resolves_and_spans_both_halves_and_languages(corpus_chunks):
    problems = load_problems()
    readings = load_second_readings()
    assert check_second_readings(readings, problems, corpus_chunks) == []
    by_id = {p.id: p for p in problems}
    for lang in ("fr", "en"):
        for half in ("tuning", "held-out"):
            assert sum(by_id[r.id].lang == lang and by_id[r.id].half == half for r in readings) >= 8, (lang, half)
    assert all(len(r.must) <= 6 for r in readings)


def test_a_second_reading_is_checked_and_scored_like_an_answer():
    problem = Problem("x1", "en", "held-out", "t", "text", must=("d:1.a", "d:2.b"), good=("d:3",), examples=())
    reading = SecondReading("x1", must=("d:1.a",), good=("d:3", "d:9"), answer=("d:1.a", "d:9"))
    chunks = [SimpleNamespace(id=i, kind="measure", translation=None) for i in ("d:1.a", "d:2.b", "d:3", "d:9")]
    assert check_second_readings([reading], [problem], chunks) == []
    (s,) = reader_scores([problem], [reading])
    assert (s.must_recall, s.precision, s.shown) == (0.5, 0.5, ("d:1.a", "d:9"))
    table = reader_table([score(problem, SimpleNamespace(principles=[], measures=[], examples=[]))], [s])
    assert table.splitlines()[2].split() == ["held-out", "1", "0.000", "0.000", "0.0", "0.500", "0.500", "2.0"]

    too_long = SecondReading("x1", must=("d:1.a",), good=(), answer=("d:1.a",) * 9)
    unjudged = SecondReading("x2", must=("d:1.a",), good=(), answer=("d:3",))
    errors = check_second_readings([too_long, unjudged], [problem], chunks)
    assert any("shows 9 items" in e for e in errors)
    assert any(e.startswith("x2: no such problem") for e in errors)
    assert any("['d:3'] shown but neither must nor good" in e for e in errors)


def test_a_translation_shown_counts_as_its_original():
    problem = Problem("x1", "en", "held-out", "t", "text", must=("d:1.a", "d:2.b"), good=("d:3",), examples=("c:p1",))

    def item(cid, original=None):
        return SimpleNamespace(
            chunk=SimpleNamespace(id=cid), original=SimpleNamespace(id=original) if original else None
        )

    rec = SimpleNamespace(
        principles=[item("d-en:1.a", "d:1.a")],
        measures=[SimpleNamespace(measures=[item("d-en:3", "d:3"), item("d-en:9", "d:9")])],
        examples=[item("c-en:p1", "c:p1")],
    )
    s = score(problem, rec)
    assert s.shown == ("d:1.a", "d:3", "d:9")
    assert s.must_recall == 0.5 and s.precision == 2 / 3 and s.example_hit is True
    assert s.missed == ("d:2.b",) and s.off_topic == ("d:9",)
    row = next(r for r in summarise([s]) if r.lang == "all")
    assert (row.problems, row.shown, row.empty) == (1, 3, 0)


def test_the_sweep_objective_follows_the_target_furthest_away():
    def row(recall: float, precision: float) -> AnswerRow:
        return AnswerRow("tuning", "all", 32, recall, precision, 7.0, 0, None, 0)

    assert shortfall(row(0.60, 0.65)) == pytest.approx(0.20)  # recall is 0.20 short, precision 0.05
    assert shortfall(row(0.78, 0.40)) == pytest.approx(0.30)  # precision is the further one
    assert shortfall(row(0.85, 0.75)) == 0.0  # both met: nothing left to gain
    # The same F either way round; the shortfall prefers the answer nearer both targets.
    assert shortfall(row(0.70, 0.62)) < shortfall(row(0.62, 0.70))


def test_the_sweep_puts_the_shortest_of_the_near_best_first():
    from boussole.eval.answers import chosen_first
    from boussole.eval.folds import FoldRow

    def row(recall: float, shown: float) -> FoldRow:
        return FoldRow("all", 330, recall, 0.75, shown)

    long_best = DEFAULT_CUT.with_(ratio=0.3)
    short_tie = DEFAULT_CUT.with_(ratio=0.6)  # 0.004 below the best: a tie, and shorter
    worse = DEFAULT_CUT.with_(ratio=0.8)
    too_long = DEFAULT_CUT.with_(ratio=0.0)  # the best recall, but more than 8 items
    order = chosen_first(
        [
            (worse, row(0.60, 6.0), "c"),
            (too_long, row(0.75, 9.5), "d"),
            (long_best, row(0.704, 7.9), "a"),
            (short_tie, row(0.700, 7.2), "b"),
        ]
    )
    assert [extra for _cut, _row, extra in order] == ["b", "a", "c", "d"]


def test_fusion_changes_read_each_field_as_its_type():
    from boussole.eval.answers import fusion_changes
    from boussole.index.config import DEFAULT_FUSION

    changes = fusion_changes(["paragraph_lift=0.2", "lift_depth=10", "twin_dense_mean=false"])
    assert changes == {"paragraph_lift": 0.2, "lift_depth": 10, "twin_dense_mean": False}
    assert DEFAULT_FUSION.with_(**changes).lift_depth == 10
    for bad, says in (
        ("centre=false", "NAME one of"),  # fixed when the index is built
        ("paragraph_lifts=0.2", "NAME one of"),
        ("paragraph_lift", "NAME one of"),
        ("lift_depth=1.5", "lift_depth takes a int"),
        ("twin_dense_mean=maybe", "takes a bool"),
    ):
        with pytest.raises(ValueError, match=says):
            fusion_changes([bad])
