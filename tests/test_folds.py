"""eval.folds: each judged problem answered by an index built without it."""

from __future__ import annotations

from pathlib import Path

import pytest

from boussole.eval.answers import AnswerScore, Problem
from boussole.eval.folds import (
    FIXED_CUT,
    Fold,
    answer,
    build_folds,
    open_folds,
    paired_difference,
    split,
    summarise,
    sweep,
)
from boussole.index.problems import load_item_problems, load_judged_problems, with_judged
from boussole.service.cut import DEFAULT_CUT


def test_split_is_disjoint_complete_and_repeatable():
    judged = load_judged_problems()
    parts = split(judged)
    ids = [p.id for part in parts for p in part]
    assert sorted(ids) == sorted(p.id for p in judged)  # every problem once
    assert len(set(ids)) == len(ids)
    assert abs(len(parts[0]) - len(parts[1])) <= 1
    assert [p.id for p in split(list(reversed(judged)))[0]] == [p.id for p in parts[0]]  # not the file's order
    assert [p.id for p in split(judged, seed=1)[0]] != [p.id for p in parts[0]]
    with pytest.raises(ValueError, match="cannot split"):
        split(judged, folds=1)


def test_with_judged_is_how_the_shipped_problems_are_read():
    shipped = load_item_problems()
    rebuilt = with_judged(load_item_problems(judged=None), load_judged_problems())
    assert rebuilt.identity() == shipped.identity()
    assert rebuilt.judged == shipped.judged


def test_a_fold_holds_none_of_its_own_problems():
    parts = split(load_judged_problems())
    held, kept = parts[0], parts[1]
    problems = with_judged(load_item_problems(judged=None), kept)
    texts = set(problems.texts())
    assert not texts & {p.text for p in held}
    assert {p.text for p in kept} <= texts
    assert {p.id for p in problems.judged} == {p.id for p in kept}


def _score(id_: str, must: tuple[str, ...], shown: tuple[str, ...]) -> AnswerScore:
    return AnswerScore(Problem(id_, "en", "fold 1", "", "text", must, (), ()), shown, ())


def test_paired_difference_worked_by_hand():
    before = [_score("a", ("x", "y"), ("x",)), _score("b", ("x",), ()), _score("c", ("x",), ("x",))]
    after = [_score("a", ("x", "y"), ("x", "y")), _score("b", ("x",), ("x",)), _score("c", ("x",), ("x",))]
    diff, error = paired_difference(before, after)  # differences 0.5, 1, 0
    assert diff == pytest.approx(0.5)
    assert error == pytest.approx(0.5 / 3**0.5)
    with pytest.raises(ValueError, match="same problems"):
        paired_difference(before, list(reversed(after)))


def test_folds_are_built_once_and_answer_every_problem_on_an_index_without_it(data_dir, corpus_dir, tmp_path):
    from boussole.eval.answers import compose_with, score
    from boussole.index import store
    from boussole.index.searcher import Searcher

    cache = data_dir / "cache" / "embeddings"
    cached = {p.name: p.stat().st_size for p in cache.glob("*.npz")}
    said: list[str] = []
    folds = build_folds(data_dir, corpus_dir, tmp_path / "folds", say=said.append)
    assert len(said) == 2  # one build per fold
    assert cached and {p.name: p.stat().st_size for p in cache.glob("*.npz")} == cached  # the main cache untouched
    judged = load_judged_problems()
    assert sorted(p.id for f in folds for p in f.problems) == sorted(p.id for p in judged)
    for fold in folds:
        searcher = Searcher.open(store.resolve(fold.index_dir), data_dir / "models")
        assert len(searcher._judged) == len(judged) - len(fold.problems)  # the other folds' problems vote
    again: list[str] = []
    assert [f.index_dir for f in build_folds(data_dir, corpus_dir, tmp_path / "folds", say=again.append)] == [
        f.index_dir for f in folds
    ]
    assert again == []  # fresh: reused, not rebuilt

    sample = [Fold(fold.number, fold.problems[:10], fold.index_dir) for fold in folds]
    cut, fixed = answer(sample, data_dir / "models")
    assert [s.problem.id for s in cut] == [p.id for f in sample for p in f.problems]
    assert all(len(s.shown) == 8 for s in fixed)  # 2 principles + 6 measures
    assert summarise(cut)[-1].problems == 20
    swept = sweep(open_folds(sample, data_dir / "models"), grid=[FIXED_CUT, DEFAULT_CUT])
    assert {c for c, _row, _diff in swept} == {FIXED_CUT, DEFAULT_CUT}
    by_cut = {c: (row, diff) for c, row, diff in swept}
    assert by_cut[DEFAULT_CUT][1] == (0.0, 0.0)  # the shipped cut against itself
    assert by_cut[FIXED_CUT][0].must_recall == pytest.approx(summarise(fixed)[-1].must_recall)
    assert by_cut[FIXED_CUT][0].shown == 8
    # The shipped index holds these problems (their texts are statements of their items and
    # they vote for them): it answers them better than the folds, which never saw them.
    shipped = compose_with(Searcher.open(data_dir / "index", data_dir / "models"))
    inside = [score(s.problem, shipped(s.problem)).must_recall for s in cut]
    assert sum(inside) / len(inside) > sum(s.must_recall for s in cut) / len(cut) + 0.05


def test_main_refuses_a_data_folder_without_models(tmp_path: Path):
    from boussole.eval.folds import main

    with pytest.raises(SystemExit, match="no models"):
        main(["--data-dir", str(tmp_path)])
