"""Fusion, near-duplicate folding and feedback terms: pure functions, checked by hand."""

from collections import Counter

import numpy as np
import pytest

from index.feedback import document_frequencies, feedback_terms
from index.fusion import (
    RRF_K,
    convex_combination,
    language_weights,
    min_max,
    reciprocal_rank_fusion,
    suppress_near_duplicates,
)


def test_rrf_sums_reciprocal_ranks():
    fused = dict(reciprocal_rank_fusion([[(1, 9.0), (2, 8.0)], [(2, 0.5), (3, 0.4)]]))
    assert fused[2] == pytest.approx(1 / (RRF_K + 2) + 1 / (RRF_K + 1))
    assert fused[1] == pytest.approx(1 / (RRF_K + 1))
    assert fused[3] == pytest.approx(1 / (RRF_K + 2))


def test_rrf_weight_per_row():
    weights = [1.0, np.array([0.0, 0.0, 0.0, 1.0])]
    fused = dict(reciprocal_rank_fusion([[(1, 1.0)], [(2, 1.0), (3, 1.0)]], weights))
    assert 2 not in fused  # zero weight for row 2 in the second ranking
    assert fused[3] == pytest.approx(1 / (RRF_K + 2))


def test_min_max_scales_to_unit_interval():
    assert min_max([(4, 3.0), (5, 2.0), (6, 1.0)]) == {4: 1.0, 5: 0.5, 6: 0.0}
    assert min_max([(1, 0.7)]) == {1: 1.0}
    assert min_max([]) == {}


def test_convex_combination_weights_and_language():
    dense = [(1, 0.9), (2, 0.8)]
    lexical = [(2, 10.0), (3, 5.0)]
    fused = dict(convex_combination(dense, lexical, alpha=0.5))
    assert fused == {1: 0.5, 2: 0.5, 3: 0.0}
    lang = np.array([1.0, 1.0, 0.2, 1.0])
    fused = dict(convex_combination(dense, lexical, alpha=0.5, lexical_weights=lang))
    assert fused[2] == pytest.approx(0.1)


def test_language_weights_follow_query_probabilities():
    weights = language_weights({"fr": 0.9, "en": 0.1}, np.array(["fr", "en", "de"], dtype=object))
    assert weights.tolist() == pytest.approx([0.9, 0.1, 0.0])


def test_near_duplicates_are_folded_into_the_best_ranked():
    sets = [frozenset("abcde"), frozenset("abcdf"), frozenset("xyz"), frozenset("abcde")]
    kept = suppress_near_duplicates([(0, 3.0), (2, 2.0), (3, 1.5), (1, 1.0)], sets, threshold=0.99)
    assert [(row, absorbed) for row, _, absorbed in kept] == [(0, [3]), (2, []), (1, [])]
    assert len(suppress_near_duplicates([(0, 3.0), (2, 2.0), (1, 1.0)], sets, limit=2)) == 2


def test_feedback_terms_prefer_frequent_and_rare_words():
    docs = [["inond", "alert", "inond"], ["alert", "budget"], ["budget", "ville"], ["ville", "ville"]]
    df = document_frequencies(docs)
    assert df == Counter({"alert": 2, "budget": 2, "ville": 2, "inond": 1})
    assert feedback_terms([0], docs, df, 1) == ["inond"]
    assert feedback_terms([0, 1], docs, df, 2) == ["inond", "alert"]
