"""The scope signal on the real index, with questions the calibration set does not hold.

The signal is fitted on index/calibration.toml; none of the questions below are in it (a
test checks), so these tests judge it on questions it never saw.
"""

import json
import random
from pathlib import Path

import numpy as np
import pytest

from boussole.index.calibration import load_calibration, random_strings
from boussole.index.scope import (
    ScopeFeatures,
    assess_scope,
    cross_validated_safety,
    fit_scope_model,
    has_words,
    held_out_margins,
    neighbour_margin,
    topic_groups,
)

# Core topics of the guidelines, worded as officials write them.
IN_SCOPE = [
    "Our riverside neighbourhoods flood every year and people are never warned in time",
    "floods arrive without warning",
    "inondations sans alerte",
    "Nos aînés n'arrivent pas à utiliser les services en ligne de la mairie",
    "facial-recognition cameras downtown",
    "Comment associer les habitants des quartiers informels à la conception des services numériques ?",
    "all our data is locked in by one vendor's platform",
    "how do we measure whether our smart city strategy works?",
    "Cyberattaques contre les systèmes informatiques municipaux",
    "our pilot projects stop when the grant runs out",
    # A digital issue in an everyday municipal setting: the setting must not decide (the
    # garderie question was out of scope before the 2026-12-07 calibration pairs).
    "The town library wants to lend tablets, but nobody knows what happens to borrowers' browsing data",
    "Les parents ne peuvent plus payer la garderie périscolaire qu'avec une application",
    "Our bin lorries now carry cameras that photograph every household's rubbish",
    "La mairie veut attribuer les places en crèche avec un logiciel qui classe les familles",
]
OUT_OF_SCOPE = [
    "a recipe for chocolate cake",
    "football results from last weekend",
    "comment réparer un vélo",
    "how to train a puppy to sit",
    "quel temps fera-t-il demain à Lyon",
    "how do I renew my passport",
    # The same everyday settings with no digital side stay out.
    "à quelle heure ouvre la garderie périscolaire le mercredi ?",
    "when is the town library open on Saturdays?",
    "how much does a crèche place cost per month?",
]
NONSENSE = ["<script>alert(1)</script>", "§", "¿", "12345", "=)", *random_strings(5, seed=7)]


def test_probe_questions_are_not_calibration_questions():
    calibration = load_calibration()
    seen = {q.casefold() for q in calibration.texts()}
    assert not seen & {q.casefold() for q in IN_SCOPE + OUT_OF_SCOPE + NONSENSE}


def test_calibration_set_does_not_repeat_benchmark_queries():
    from boussole.eval.benchmark import BENCHMARK_DIR

    bench = {json.loads(line)["text"].casefold() for line in (BENCHMARK_DIR / "queries.jsonl").open()}
    assert not bench & {q.casefold() for q in load_calibration().texts()}


@pytest.mark.slow
@pytest.mark.parametrize("query", IN_SCOPE)
def test_core_topics_are_in_scope(searcher, query):
    scope = assess_scope(searcher.search(query, k=5))
    assert scope.in_scope and scope.confidence >= 0.5, (query, scope)


@pytest.mark.slow
@pytest.mark.parametrize("query", OUT_OF_SCOPE + NONSENSE)
def test_off_topic_and_nonsense_are_flagged(searcher, query):
    result = searcher.search(query, k=5)
    scope = assess_scope(result)
    assert not scope.in_scope and scope.confidence < 0.5, (query, scope)
    assert "margin" not in scope.reason and "similarity" not in scope.reason  # words, not numbers
    assert result.hits, "the closest passages are still returned, for the caller to mark as weak"


@pytest.mark.slow
def test_lexical_only_search_gives_no_verdict(searcher):
    result = searcher.search("inondations alerte précoce", k=5, mode="bm25")
    scope = assess_scope(result)
    assert scope.in_scope and scope.confidence == 0.5 and "Keyword" in scope.reason


@pytest.mark.slow
def test_the_index_records_how_the_signal_was_fitted(searcher):
    model = searcher.scope_model
    assert "calibration.toml" in model.fitted_on
    assert (
        model.calibration_in_scope == len(load_calibration().in_scope_all) and model.calibration_in_scope_flagged == 0
    )
    assert model.calibration_out_of_scope_flagged / model.calibration_out_of_scope > 0.8
    assert "translation" in model.fitted_on and "cross-validation" in model.fitted_on
    assert 0.0 < model.safety < 1.0  # measured by cross-validation, not the hand-set full logit it replaced


def test_translations_share_a_group_and_classes_share_none():
    calibration = load_calibration()
    in_groups, out_groups = calibration.in_scope_groups, calibration.out_of_scope_groups
    assert len(in_groups) == len(calibration.in_scope_all) and len(out_groups) == len(calibration.out_of_scope_all)
    n = len(calibration.in_scope["fr"])
    assert calibration.in_scope_all[0] == calibration.in_scope["fr"][0]
    assert in_groups[0] == in_groups[n] and in_groups[0] != in_groups[1]  # fr[0] and en[0]: one pair
    assert not set(in_groups) & set(out_groups)
    nonsense = out_groups[-len(calibration.nonsense) :]
    assert len(set(nonsense)) == len(nonsense)  # no nonsense string has a translation


def test_unequal_translation_lists_are_refused(tmp_path):
    text = (Path(__file__).resolve().parent.parent / "index" / "calibration.toml").read_text(encoding="utf-8")
    broken = text.replace(
        'en = [\n    "How can we make our online public services easier for older people to use?",\n', "en = [\n", 1
    )
    assert broken != text
    (tmp_path / "calibration.toml").write_text(broken, encoding="utf-8")
    with pytest.raises(ValueError, match="row for row"):
        load_calibration(tmp_path / "calibration.toml")


def test_held_out_margins_skip_the_translation():
    # Row 0 and reference 1 are one pair (group 7): the translation must not be a neighbour.
    rows = np.array([[1.0, 0.0]])
    positive = np.array([[0.0, 1.0], [1.0, 0.0], [0.6, 0.8]])
    negative = np.array([[0.8, 0.6]])
    margin = held_out_margins(rows, np.array([7]), positive, np.array([1, 7, 2]), negative, np.array([9]), k=1)
    assert margin[0] == pytest.approx(0.6 - 0.8)  # best positive left is 0.6, not the translation's 1.0
    leaky = neighbour_margin(rows, positive, negative, k=1)
    assert leaky[0] == pytest.approx(1.0 - 0.8)


def test_topic_groups_keep_translations_together():
    rng = np.random.default_rng(2)
    centres = rng.normal(size=(4, 8))
    pairs = np.repeat(np.arange(12), 2)  # 12 pairs, both rows of a pair near one of 4 centres
    vectors = centres[pairs % 4] + rng.normal(scale=0.05, size=(24, 8))
    topics = topic_groups(vectors, pairs, pairs_per_topic=3)
    assert len(set(topics)) == 4
    for pair in range(12):
        assert len(set(topics[pairs == pair])) == 1
    assert all(len(set(topics[pairs % 4 == c])) == 1 for c in range(4))  # one centre, one topic


def test_cross_validated_safety_is_the_largest_held_out_shortfall():
    rng = np.random.default_rng(5)
    positive = np.c_[rng.normal(1.0, 0.4, 40), rng.normal(0.5, 0.2, 40), rng.normal(0.4, 0.1, 40)]
    negative = np.c_[rng.normal(-1.0, 0.4, 40), rng.normal(-0.5, 0.2, 40), rng.normal(0.1, 0.1, 40)]
    groups_in, groups_out = np.arange(40) // 2, 100 + np.arange(40)

    def featurise(rows_in, rows_out, ref_in, ref_out):
        return positive[rows_in], negative[rows_out]

    safety = cross_validated_safety(featurise, groups_in, groups_out, folds=5)
    assert safety > 0  # with 40 noisy points, some held-out point falls below its fold's minimum
    # Fitted on everything, the threshold then keeps every in-scope point with that margin.
    model = fit_scope_model(positive, negative, "synthetic", safety)
    decisions = positive @ np.array(model.coef) + model.intercept
    assert decisions.min() - model.threshold == pytest.approx(safety)


def test_has_words():
    assert has_words("inondations")
    assert not any(has_words(q) for q in ("§", "¿", "12345", "=)", " ", "a"))


def test_neighbour_margin_is_mean_top_k_difference():
    q = np.array([[1.0, 0.0]])
    positive = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    negative = np.array([[-1.0, 0.0], [0.8, 0.6]])
    # top-2 of positive sims (1.0, 0.6) minus top-2 of negative sims (0.8, -1.0)
    assert neighbour_margin(q, positive, negative, k=2)[0] == pytest.approx(0.8 - (-0.1))


def test_fitted_threshold_keeps_every_in_scope_calibration_point():
    rng = random.Random(3)
    positive = np.array([[rng.gauss(1.0, 0.3), rng.gauss(0.5, 0.2), rng.gauss(0.4, 0.1)] for _ in range(50)])
    negative = np.array([[rng.gauss(-1.0, 0.3), rng.gauss(-0.5, 0.2), rng.gauss(0.1, 0.1)] for _ in range(50)])
    model = fit_scope_model(positive, negative, "synthetic", safety=1.0)
    decisions = positive @ np.array(model.coef) + model.intercept
    assert decisions.min() - model.threshold == pytest.approx(1.0)
    assert model.calibration_in_scope_flagged == 0
    clear_out = ScopeFeatures(-2.0, -1.0, 0.0)
    assert not model.assess("a real question here", clear_out).in_scope
    assert model.assess("a real question here", ScopeFeatures(*positive[0])).in_scope
    assert not model.assess("§", ScopeFeatures(*positive[0])).in_scope  # no words: never in scope


def test_cli_shows_no_passages_for_a_lone_symbol(data_dir):
    from click.testing import CliRunner

    from boussole.service.cli import cli

    runner = CliRunner()
    symbol = runner.invoke(cli, ["search", "§", "--data-dir", str(data_dir), "--answer-lang", "en"])
    assert symbol.exit_code == 0, symbol.output
    assert "not a question" in symbol.output
    assert "HSP/HA.2/14" not in symbol.output  # no citation: no passage was printed
    # a lone symbol has no language: "auto" falls back to the corpus' original, French
    auto = runner.invoke(cli, ["search", "§", "--data-dir", str(data_dir)])
    assert auto.exit_code == 0 and "ni une question" in auto.output, auto.output
    question = runner.invoke(cli, ["search", "inondations sans alerte", "-k", "2", "--data-dir", str(data_dir)])
    assert question.exit_code == 0 and "HSP/HA.2/14" in question.output
