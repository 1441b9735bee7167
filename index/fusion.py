"""Rank fusion and near-duplicate suppression: pure functions over (row, score) lists."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy import sparse

Ranking = Sequence[tuple[int, float]]

RRF_K = 60  # Cormack, Clarke & Büttcher (2009), "Reciprocal rank fusion outperforms Condorcet ..."


def reciprocal_rank_fusion(
    rankings: Sequence[Ranking],
    weights: Sequence[float | np.ndarray] | None = None,
    k: int = RRF_K,
) -> list[tuple[int, float]]:
    """Weighted RRF: score(d) = Σ_r w_r(d) / (k + rank_r(d)).

    A weight may be a scalar or an array indexed by row, so that one ranking can count
    more for some documents than for others (see `language_weights`).
    """
    weights = weights if weights is not None else [1.0] * len(rankings)
    fused: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, (row, _score) in enumerate(ranking, start=1):
            w = float(weight[row]) if isinstance(weight, np.ndarray) else float(weight)
            if w:
                fused[row] = fused.get(row, 0.0) + w / (k + rank)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def language_weights(
    query_lang_probs: dict[str, float], langs: Sequence[str] | np.ndarray, codes: np.ndarray
) -> np.ndarray:
    """BM25's weight per row: the probability that the query is in that row's language.
    Rows are given as `codes` into `langs` (np.unique's `return_inverse`), computed once
    per index: a search then costs one lookup per language, not one per row.

    BM25 on an English query against French text matches proper nouns and noise; a plain
    RRF would let that noise pull good dense results down. Scaling BM25 by P(same language)
    keeps it at full strength for same-language queries and fades it when the languages
    differ or the query's language is unclear.
    """
    return np.array([query_lang_probs.get(lang, 0.0) for lang in langs], dtype=np.float32)[codes]


NEAR_DUPLICATE = 0.8  # Jaccard index of analysed tokens from which two passages count as one


class NearDuplicates:
    """Which passages are near-identical texts: a property of the index, found once.

    Similarity is the Jaccard index of analysed tokens (texts, not embeddings, since
    sibling items share context). The pairs come from one sparse passage × token product,
    in blocks of rows so that memory stays bounded on a large corpus; a search then only
    looks pairs up. Checking a search's candidates pair by pair in Python took 17 ms of a
    100-result /v1/recommend; without it, recommend at c=32 serves 66 requests/s instead of
    36 (`python -m bench.compare`, docs/performance.md)."""

    BLOCK = 2048

    def __init__(self, token_sets: Sequence[frozenset[str]], threshold: float = NEAR_DUPLICATE) -> None:
        vocabulary: dict[str, int] = {}
        columns = [vocabulary.setdefault(t, len(vocabulary)) for tokens in token_sets for t in sorted(tokens)]
        starts = np.cumsum([0, *(len(tokens) for tokens in token_sets)])
        sizes = np.diff(starts)
        matrix = sparse.csr_matrix(
            (np.ones(len(columns), dtype=np.int32), np.asarray(columns, dtype=np.int64), starts),
            shape=(len(token_sets), max(len(vocabulary), 1)),
        )
        pairs: dict[int, set[int]] = {}
        for first in range(0, len(token_sets), self.BLOCK):
            common = (matrix[first : first + self.BLOCK] @ matrix.T).tocoo()
            rows, cols = common.row + first, common.col
            union = sizes[rows] + sizes[cols] - common.data
            similar = (rows != cols) & (common.data / np.maximum(union, 1) >= threshold)
            for a, b in zip(rows[similar].tolist(), cols[similar].tolist(), strict=True):
                pairs.setdefault(a, set()).add(b)
        self._pairs = {row: frozenset(others) for row, others in pairs.items()}

    def of(self, row: int) -> frozenset[int]:
        """The passages near-identical to `row` (not `row` itself)."""
        return self._pairs.get(row, frozenset())


def suppress_near_duplicates(
    ranked: Ranking, near: NearDuplicates, limit: int | None = None
) -> list[tuple[int, float, list[int]]]:
    """Keep the best-ranked of near-identical texts; return (row, score, rows it absorbed).

    The guidelines repeat some measures almost verbatim under several pillars (69 (k) and
    77 (g)); without this they fill the top k with one idea. A row joins the first kept
    row it is near-identical to. Stops once `limit` results are kept (the rest would be
    cut anyway).
    """
    kept: list[tuple[int, float, list[int]]] = []
    slot_of: dict[int, int] = {}  # kept row -> its place in `kept`
    for row, score in ranked:
        if limit is not None and len(kept) >= limit:
            break
        twins = near.of(row)
        slots = [slot_of[other] for other in twins if other in slot_of]
        if slots:
            kept[min(slots)][2].append(row)
        else:
            slot_of[row] = len(kept)
            kept.append((row, score, []))
    return kept


def min_max(ranking: Ranking) -> dict[int, float]:
    """Scores of one ranking scaled to [0, 1] (best = 1); a single score maps to 1."""
    if not ranking:
        return {}
    scores = np.array([s for _, s in ranking], dtype=np.float64)
    low, high = scores.min(), scores.max()
    span = high - low
    return {row: (1.0 if span == 0 else (s - low) / span) for row, s in ranking}


def convex_combination(
    dense: Ranking,
    lexical: Ranking,
    alpha: float,
    lexical_weights: np.ndarray | None = None,
) -> list[tuple[int, float]]:
    """score(d) = α·mm(dense)(d) + (1−α)·w(d)·mm(bm25)(d), min-max scaled per ranking.

    Bruch, Gai & Ingber (2023), "An Analysis of Fusion Functions for Hybrid Retrieval":
    a tuned convex combination of normalised scores is at least as good as RRF and keeps
    the size of score gaps, which RRF throws away. Dense cosines from e5 sit in a narrow
    band, so their spread matters more than their ranks.
    """
    d, lex = min_max(dense), min_max(lexical)
    fused: dict[int, float] = {}
    for row in d.keys() | lex.keys():
        w = float(lexical_weights[row]) if lexical_weights is not None else 1.0
        fused[row] = alpha * d.get(row, 0.0) + (1 - alpha) * w * lex.get(row, 0.0)
    return sorted(fused.items(), key=lambda item: (-item[1], item[0]))


def judged_lift(ranked: Ranking, votes: np.ndarray, weight: float) -> list[tuple[int, float]]:
    """score(d) += weight · best · vote(d): the judged problems' vote (index.judged) for a
    row, as a share of the ranking's best score, so that it weighs alike whatever the
    scores' scale. Only the ranking's own rows move: a vote alone brings no passage in."""
    if not ranked or not weight:
        return list(ranked)
    best = max(score for _, score in ranked)
    lifted = [(row, score + weight * best * float(votes[row])) for row, score in ranked]
    return sorted(lifted, key=lambda item: (-item[1], item[0]))


def structure_lift(
    ranked: Ranking,
    pillars: Sequence[str],
    paragraphs: Sequence[str],
    pillar_weight: float,
    paragraph_weight: float,
    depth: int,
) -> list[tuple[int, float]]:
    """Let the guidelines' structure vote: score(d) += β·share(pillar(d)) + γ·best(paragraph(d)).

    share(p) is the part of the top-`depth` score mass that falls in pillar p: when the
    best passages agree on a pillar, its other principles and measures move up, and a
    lone passage from an unrelated pillar (a generic one that resembles every question)
    moves down relative to them. best(g) is the best score among the items of one
    lettered list (a paragraph's (a), (b), …): items share a lead-in, and an item whose
    sibling matches is more likely relevant than an item alone. Rows with an empty pillar
    or paragraph key get no lift from it.
    """
    if not ranked or (not pillar_weight and not paragraph_weight):
        return list(ranked)
    top = ranked[:depth]
    total = sum(score for _, score in top) or 1.0
    share: dict[str, float] = {}
    for row, score in top:
        if pillars[row]:
            share[pillars[row]] = share.get(pillars[row], 0.0) + score / total
    best: dict[str, float] = {}
    for row, score in ranked:
        if paragraphs[row]:
            best[paragraphs[row]] = max(best.get(paragraphs[row], 0.0), score)
    lifted = [
        (
            row,
            score
            + pillar_weight * share.get(pillars[row], 0.0)
            + (paragraph_weight * best[paragraphs[row]] if paragraphs[row] else 0.0),
        )
        for row, score in ranked
    ]
    return sorted(lifted, key=lambda item: (-item[1], item[0]))


def term_bridge(
    ranked: Ranking,
    term_rankings: Mapping[int, Ranking],
    weight: float,
) -> list[tuple[int, float]]:
    """Let a matched definition lift the passages that use the term it defines.

    The guidelines' glossary names their vocabulary ("interopérabilité", "verrouillage par
    le fournisseur", "cybersécurité"). A question that ranks a definition high is asking
    about its term in other words ("nothing talks to each other", "one vendor holds our
    data"), and the principles and measures that answer it use the term itself, which
    neither the question's words nor its embedding may reach. `term_rankings` maps each
    definition row in the ranking's head to a BM25 ranking of its term;
    score(d) += w · max_g (s_g / s_best) · mm(bm25(term_g))(d), so a weakly matched
    definition bridges weakly. The definition does not lift itself.
    """
    if not ranked or not weight or not term_rankings:
        return list(ranked)
    scores = dict(ranked)
    best = ranked[0][1] or 1.0
    bridge: dict[int, float] = {}
    for definition, ranking in term_rankings.items():
        strength = scores.get(definition, 0.0) / best
        for row, value in min_max(ranking).items():
            if row != definition:
                bridge[row] = max(bridge.get(row, 0.0), strength * value)
    lifted = {row: scores.get(row, 0.0) + weight * bridge.get(row, 0.0) for row in scores.keys() | bridge.keys()}
    return sorted(lifted.items(), key=lambda item: (-item[1], item[0]))


def collapse_twins(
    ranked: Ranking, group: np.ndarray, representative: np.ndarray, twin_weight: float = 0.0
) -> list[tuple[int, float]]:
    """One entry per passage, whatever language it matched in: a row's twins (its
    translations, sharing `group[row]`) fold into one entry under the group's
    `representative` row (the authoritative text), scored by its best version plus
    `twin_weight` times its second best (0: a match in either language counts alone)."""
    best: dict[int, float] = {}
    second: dict[int, float] = {}
    for row, score in ranked:
        g = int(group[row])
        if g not in best:
            best[g] = score
        elif g not in second:
            second[g] = score
    scored = [(int(representative[g]), s + twin_weight * second.get(g, 0.0)) for g, s in best.items()]
    return sorted(scored, key=lambda item: (-item[1], item[0]))
