"""Judged problems as neighbours (index.judged): stored with the index, voting for their
items, and an index without them still served."""

from __future__ import annotations

import copy
import io
import json
import shutil

import numpy as np
import pytest

from boussole.index import store
from boussole.index.errors import IndexCorrupt
from boussole.index.filters import Filters
from boussole.index.fusion import judged_lift
from boussole.index.judged import JudgedVectors, votes
from boussole.index.problems import load_judged_problems
from boussole.index.searcher import Searcher

ITEMS = Filters(doc=("hsp-ha-2-14",), kind=("principle", "measure"))


def test_votes_by_hand():
    """Two problems: the nearer gets the larger softmax weight; an acceptable item gets
    `good` × its problem's weight; with one neighbour only the nearest votes."""
    judged = JudgedVectors(
        e5=np.array([[1.0, 0.0], [0.0, 1.0]], np.float32),
        use=np.zeros((2, 1), np.float32),
        ptr=np.array([0, 2, 3]),
        rows=np.array([0, 1, 2]),
        good=np.array([False, True, False]),
    )
    q = np.array([1.0, 0.0], np.float32)
    out = votes(judged, q, np.zeros(1, np.float32), 4, use_weight=0.8, neighbours=2, temperature=1.0, good=0.5)
    near, far = np.exp(0.0), np.exp(-1.0)
    assert out[0] == pytest.approx(near / (near + far))
    assert out[1] == pytest.approx(0.5 * near / (near + far))
    assert out[2] == pytest.approx(far / (near + far))
    assert out[3] == 0
    one = votes(judged, q, np.zeros(1, np.float32), 4, use_weight=0.8, neighbours=1, temperature=1.0, good=0.5)
    assert one.tolist() == [1.0, 0.5, 0.0, 0.0]
    empty = JudgedVectors.empty(2, 1)
    assert not votes(
        empty, q, np.zeros(1, np.float32), 4, use_weight=0.8, neighbours=5, temperature=1.0, good=0.5
    ).any()


def test_judged_lift_by_hand():
    """A vote adds weight × best score × vote, reorders, and brings in no new row."""
    ranked = [(5, 2.0), (7, 1.5), (9, 1.0)]
    lifted = judged_lift(ranked, np.array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0.6, 1.0]), 1.0)
    assert lifted == [(9, pytest.approx(2.2)), (5, 2.0), (7, 1.5)]
    assert judged_lift(ranked, np.ones(11), 0.0) == ranked


def test_index_carries_each_judged_problem_with_the_rows_of_its_items(searcher):
    cal = searcher.calibration
    problems = load_judged_problems()
    assert len(cal.judged_e5) == len(problems) == len(cal.judged_ptr) - 1
    rows_of: dict[str, set[int]] = {}
    for row, chunk in enumerate(searcher.chunks):
        rows_of.setdefault(chunk.key, set()).add(row)
    for p, problem in list(enumerate(problems))[::7]:
        lo, hi = cal.judged_ptr[p], cal.judged_ptr[p + 1]
        must = {int(r) for r, g in zip(cal.judged_rows[lo:hi], cal.judged_good[lo:hi]) if not g}
        good = {int(r) for r, g in zip(cal.judged_rows[lo:hi], cal.judged_good[lo:hi]) if g}
        assert must == set().union(*(rows_of[k] for k in problem.must)), problem.id
        assert good == set().union(*(rows_of[k] for k in problem.good if k not in problem.must)), problem.id
        # every version of an item: a French and an English row per key
        assert len(must) == 2 * len(problem.must), problem.id


def test_a_question_told_like_a_judged_situation_gets_its_items(searcher):
    """Asked a judged problem's own words (every tenth problem), the first eight
    principles and measures hold more of its must items with the vote than without."""
    problems = load_judged_problems()[::10]

    def found(fusion=None) -> int:
        total = 0
        for problem in problems:
            hits = searcher.search(problem.text, k=8, filters=ITEMS, fusion=fusion).hits
            total += len({h.source.key for h in hits} & set(problem.must))
        return total

    assert searcher.fusion.judged_weight > 0
    with_vote, without = found(), found(searcher.fusion.with_(judged_weight=0.0))
    must = sum(len(p.must) for p in problems)
    assert with_vote > without
    assert with_vote >= 0.8 * must, (with_vote, must)


def test_the_answer_reads_the_ranking_with_the_vote_at_its_own_weight(searcher):
    """`recommend` ranks with FusionConfig.for_answer: the answer weight, not the passage
    search's, decides what an official is shown (every tenth judged problem, all actors)."""
    from boussole.index.scope import assess_scope
    from boussole.service.recommend import recommend

    problems = load_judged_problems()[5::10]
    unvoted = copy.copy(searcher)
    unvoted.fusion = searcher.fusion.with_(answer_judged_weight=0.0)
    assert (
        searcher.fusion.for_answer().judged_weight
        == searcher.fusion.answer_judged_weight
        != searcher.fusion.judged_weight
    )

    def shown_must(backend) -> int:
        total = 0
        for problem in problems:
            rec = recommend(backend, problem.text, assess=assess_scope)
            shown = {i.chunk.key for i in rec.principles} | {i.chunk.key for g in rec.measures for i in g.measures}
            total += len(shown & set(problem.must))
        return total

    assert shown_must(searcher) > shown_must(unvoted)


def _rewrite_calibration(index_dir, change) -> None:
    """Rewrite the index's calibration vectors through `change(dict of arrays)`, keeping
    the manifest's checksum in step, as a build of another version would have written them."""
    path = index_dir / store.CALIBRATION_FILE
    with np.load(path, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files}
    change(arrays)
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path.write_bytes(buffer.getvalue())
    manifest = index_dir / store.MANIFEST
    data = json.loads(manifest.read_text())
    data["files"][store.CALIBRATION_FILE] = store.sha256_file(path)
    manifest.write_text(json.dumps(data))


@pytest.fixture
def index_copy(index_dir, tmp_path):
    copy = tmp_path / "index"
    shutil.copytree(index_dir, copy)
    return copy


def test_an_index_built_before_judged_problems_serves_without_their_vote(index_copy, models_dir, searcher):
    def drop(arrays):
        for name in [n for n in arrays if n.startswith("judged_")]:
            del arrays[name]

    _rewrite_calibration(index_copy, drop)
    older = Searcher.open(index_copy, models_dir)
    question = "Les habitants âgés n'arrivent pas à utiliser les nouveaux services en ligne."
    assert len(older.calibration.judged_e5) == 0
    plain = searcher.search(question, k=10, fusion=searcher.fusion.with_(judged_weight=0.0))
    assert [h.chunk.id for h in older.search(question, k=10).hits] == [h.chunk.id for h in plain.hits]


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda a: a.update(judged_ptr=a["judged_ptr"][:-1]), "judged problem vectors do not fit"),
        (lambda a: a.update(judged_e5=a["judged_e5"][:, :10]), "judged problem vectors do not fit"),
        (lambda a: a.update(judged_rows=a["judged_rows"] + 100_000), "judged problems point past"),
    ],
)
def test_judged_vectors_that_do_not_fit_the_index_are_refused(index_copy, models_dir, change, message):
    _rewrite_calibration(index_copy, change)
    with pytest.raises(IndexCorrupt, match=message):
        Searcher.open(index_copy, models_dir)
