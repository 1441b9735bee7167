"""The no-good-match signal on the real index: off-topic problems are flagged, policy problems are not."""

import pytest

from index.scope import assess_scope

pytestmark = pytest.mark.slow

IN_SCOPE = [
    "Floods hit our neighbourhoods without any warning and residents are not alerted in time",
    "Nos habitants âgés n'arrivent pas à utiliser les services administratifs en ligne",
    "our pilot projects stop when the grant runs out",
    "comment former les agents municipaux au numérique",
    "how do we protect residents' personal data collected by sensors",
]
OUT_OF_SCOPE = [
    "a recipe for chocolate cake",
    "football results from last weekend",
    "comment réparer un vélo",
    "how to train a puppy to sit",
    "quel temps fera-t-il demain à Lyon",
]


@pytest.mark.parametrize("query", IN_SCOPE)
def test_policy_problems_are_in_scope(searcher, query):
    scope = assess_scope(searcher.search(query, k=5))
    assert scope.in_scope and scope.confidence > 0.5, scope.reason


@pytest.mark.parametrize("query", OUT_OF_SCOPE)
def test_off_topic_problems_are_flagged(searcher, query):
    scope = assess_scope(searcher.search(query, k=5))
    assert not scope.in_scope and scope.confidence < 0.5, scope.reason
    assert "may not cover" in scope.reason


def test_lexical_only_search_gives_no_confidence_estimate(searcher):
    result = searcher.search("inondations alerte précoce", k=5, mode="bm25")
    assert result.off_topic_score is None
    assert assess_scope(result).confidence == 0.5
