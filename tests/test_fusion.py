"""Fusion, near-duplicate folding and feedback terms: pure functions, checked by hand."""

from collections import Counter

import numpy as np
import pytest

from boussole.index.feedback import document_frequencies, feedback_terms
from boussole.index.fusion import (
    RRF_K,
    NearDuplicates,
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
    langs, codes = np.unique(np.array(["fr", "en", "de", "fr"]), return_inverse=True)
    weights = language_weights({"fr": 0.9, "en": 0.1}, langs, codes)
    assert weights.tolist() == pytest.approx([0.9, 0.1, 0.0, 0.9])


def test_near_duplicates_are_folded_into_the_best_ranked():
    sets = [frozenset("abcde"), frozenset("abcdf"), frozenset("xyz"), frozenset("abcde")]
    near = NearDuplicates(sets, threshold=0.99)
    kept = suppress_near_duplicates([(0, 3.0), (2, 2.0), (3, 1.5), (1, 1.0)], near)
    assert [(row, absorbed) for row, _, absorbed in kept] == [(0, [3]), (2, []), (1, [])]
    assert len(suppress_near_duplicates([(0, 3.0), (2, 2.0), (1, 1.0)], near, limit=2)) == 2
    # At 0.8, "abcdf" (4 of 6 tokens shared with "abcde") stays apart; the empty set is like nothing.
    near = NearDuplicates([*sets, frozenset()])
    assert near.of(0) == {3} and near.of(1) == frozenset() and near.of(4) == frozenset()


def test_near_duplicate_pairs_match_the_jaccard_index_pair_by_pair():
    """The sparse product finds exactly the pairs a set-by-set Jaccard finds, across blocks."""
    rng = np.random.default_rng(7)
    vocabulary = [f"w{i}" for i in range(12)]
    sets = [frozenset(rng.choice(vocabulary, size=rng.integers(0, 6), replace=False).tolist()) for _ in range(150)]

    def jaccard(a: frozenset[str], b: frozenset[str]) -> float:
        return len(a & b) / len(a | b) if a and b else 0.0

    NearDuplicates.BLOCK, block = 16, NearDuplicates.BLOCK  # several blocks over 150 rows
    try:
        near = NearDuplicates(sets, threshold=0.6)
    finally:
        NearDuplicates.BLOCK = block
    for i, a in enumerate(sets):
        assert near.of(i) == {j for j, b in enumerate(sets) if j != i and jaccard(a, b) >= 0.6}


def test_feedback_terms_prefer_frequent_and_rare_words():
    docs = [["inond", "alert", "inond"], ["alert", "budget"], ["budget", "ville"], ["ville", "ville"]]
    df = document_frequencies(docs)
    assert df == Counter({"alert": 2, "budget": 2, "ville": 2, "inond": 1})
    assert feedback_terms([0], docs, df, 1) == ["inond"]
    assert feedback_terms([0, 1], docs, df, 2) == ["inond", "alert"]


def test_structure_lift_by_hand():
    from boussole.index.fusion import structure_lift

    ranked = [(0, 1.0), (1, 0.8), (2, 0.7), (3, 0.5)]
    pillars = ["thematic-2", "enabling-1", "thematic-2", "thematic-2"]
    paragraphs = ["g:40", "", "g:40", ""]
    out = dict(structure_lift(ranked, pillars, paragraphs, pillar_weight=0.5, paragraph_weight=0.1, depth=3))
    # top-3 mass 2.5: thematic-2 holds 1.7/2.5 = 0.68, enabling-1 0.32; best of g:40 is 1.0
    assert out[0] == pytest.approx(1.0 + 0.5 * 0.68 + 0.1 * 1.0)
    assert out[1] == pytest.approx(0.8 + 0.5 * 0.32)
    assert out[2] == pytest.approx(0.7 + 0.5 * 0.68 + 0.1 * 1.0)
    assert out[3] == pytest.approx(0.5 + 0.5 * 0.68)
    assert [row for row, _ in structure_lift(ranked, pillars, paragraphs, 0.5, 0.1, 3)] == [0, 2, 1, 3]
    assert structure_lift(ranked, pillars, paragraphs, 0.0, 0.0, 3) == ranked


def test_centring_removes_a_shared_direction():
    from boussole.index.centring import centre, query_mean, unit

    shared = np.array([1.0, 0.0, 0.0])
    a, b = unit(np.array([[1.0, 1.0, 0.0]]))[0], unit(np.array([[1.0, 0.0, 1.0]]))[0]
    assert float(a @ b) == pytest.approx(0.5)
    ca, cb = centre(np.stack([a, b]), shared * a[0])
    assert float(ca @ cb) == pytest.approx(0.0, abs=1e-6)
    assert np.linalg.norm(ca) == pytest.approx(1.0)
    means = {"fr": np.array([1.0, 0.0]), "en": np.array([0.0, 1.0])}
    assert query_mean({"fr": 0.75, "en": 0.25}, means) == pytest.approx(np.array([0.75, 0.25]))


def test_term_bridge_by_hand():
    from boussole.index.fusion import term_bridge

    ranked = [(0, 1.0), (1, 0.8), (2, 0.5), (3, 0.4)]
    # row 1 is a definition; its term's BM25 ranking finds rows 3 (best) and 4 (unranked so far)
    bridged = dict(term_bridge(ranked, {1: [(3, 9.0), (4, 3.0), (1, 12.0)]}, weight=0.5))
    # min-max over (12, 9, 3): row 3 → 2/3, row 4 → 0; strength of the definition 0.8 / 1.0
    assert bridged[3] == pytest.approx(0.4 + 0.5 * 0.8 * (6 / 9))
    assert bridged[4] == pytest.approx(0.0)
    assert bridged[1] == pytest.approx(0.8)  # a definition does not lift itself
    assert bridged[0] == pytest.approx(1.0) and bridged[2] == pytest.approx(0.5)
    assert term_bridge(ranked, {1: [(3, 9.0)]}, weight=0.0) == ranked
    assert term_bridge(ranked, {}, weight=0.5) == ranked


def test_outlying_hubs_penalise_only_the_outlier():
    from boussole.index.calibrate import outlying_hubs
    from boussole.index.centring import unit

    rng = np.random.default_rng(0)
    questions = unit(rng.normal(size=(40, 16)))
    passages = unit(rng.normal(size=(30, 16)))
    passages[7] = unit(questions.mean(axis=0, keepdims=True))[0]  # close to every question at once
    hubs = outlying_hubs(passages, questions, z=2.0)
    assert hubs[7] > 0
    assert np.count_nonzero(hubs) <= 2
    assert (hubs >= 0).all()


def test_defined_term_reads_the_glossary_entry():
    from boussole.index.text import defined_term
    from boussole.ingest.models import Chunk

    definition = Chunk(
        id="d:glossary.x",
        doc_id="d",
        text="Interopérabilité : La capacité de systèmes à échanger.",
        lang="fr",
        citation="d",
        kind="definition",
        order=1,
    )
    assert defined_term(definition) == "Interopérabilité"
    assert (
        defined_term(
            Chunk(
                id="d:1", doc_id="d", text="Les villes : un rôle.", lang="fr", citation="d", kind="paragraph", order=2
            )
        )
        is None
    )
