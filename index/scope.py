"""Is the query about something the corpus covers? The no-good-match signal.

The best dense cosine is the evidence: multilingual-e5 puts every pair of texts between
about 0.7 and 0.9, so absolute values are compressed but ordered; a problem that the
guidelines address scores clearly higher than "a recipe for chocolate cake". The
threshold and slope are calibrated on probe queries (see tests/test_scope.py); they are
properties of the default model and are kept per model id.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from index.models import SearchResult

# model id -> (cosine at which confidence is 0.5, slope of the logistic)
CALIBRATION = {"multilingual-e5-small": (0.80, 60.0)}
DEFAULT_CALIBRATION = (0.80, 60.0)


@dataclass(frozen=True)
class Scope:
    in_scope: bool
    confidence: float  # 0..1: how likely the best results answer the query
    reason: str


def assess_scope(result: SearchResult, model_id: str = "multilingual-e5-small") -> Scope:
    cosines = [h.dense_score for h in result.hits[:3] if h.dense_score is not None]
    if not result.hits:
        return Scope(False, 0.0, "nothing in the corpus matches this query and these filters")
    if not cosines:
        return Scope(True, 0.5, "lexical search only: no confidence estimate")
    midpoint, slope = CALIBRATION.get(model_id, DEFAULT_CALIBRATION)
    best = max(cosines)
    confidence = 1.0 / (1.0 + math.exp(-slope * (best - midpoint)))
    if confidence >= 0.5:
        return Scope(True, confidence, f"best match similarity {best:.3f}")
    return Scope(
        False,
        confidence,
        f"the closest passages are weak matches (similarity {best:.3f}); the guidelines "
        "may not cover this problem",
    )
