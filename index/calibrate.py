"""Build-time calibration: the statistics an index needs from the calibration set.

Embeds the calibration questions with both encoders, computes the language means used for
centring, and fits the scope model (index.scope). Everything here is derived from
index/calibration.toml and the corpus, never from the benchmark.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import BinaryIO

import numpy as np

from boussole.index.cache import EmbeddingCache, query_key
from boussole.index.calibration import LANGS, CalibrationSet
from boussole.index.encoders.base import passage_precision
from boussole.index.errors import IndexCorrupt
from boussole.index.scope import ScopeModel, cross_validated_safety, fit_scope_model, held_out_margins, topic_groups

# Raised whenever what `calibrate` computes from the same calibration set changes, so that
# the indexes built before are stale (index.builder.corpus_hash hashes it).
# 3: the item problems' vectors (index.problems) travel with the calibration; 4: the judged
# problems' too (index.judged).
CALIBRATION_METHOD = 4
FITTED_ON = (
    "index/calibration.toml (each question held out with its translation; margin from 10-fold "
    "cross-validation over topics of the in-scope questions) and the indexed corpus"
)


_PROBLEM_FIELDS = ("problem_rows", "problem_e5", "problem_use")
_JUDGED_FIELDS = ("judged_e5", "judged_use", "judged_ptr", "judged_rows", "judged_good")


@dataclass(frozen=True)
class CalibrationVectors:
    """What the searcher needs at query time, saved as one .npz in the index."""

    passage_mean: np.ndarray  # (d,) mean of the raw e5 passage vectors
    query_means: dict[str, np.ndarray]  # lang -> (d,) mean raw e5 vector of in-scope questions
    e5_in: np.ndarray  # raw e5 query vectors of in-scope calibration questions
    in_langs: np.ndarray  # the language of each e5_in row
    e5_out: np.ndarray  # ... of out-of-scope questions and nonsense
    use_in: np.ndarray  # USE vectors, same rows
    use_out: np.ndarray
    # index.problems.ProblemVectors, stored here so that every backend carries them: the
    # rows of items with problem statements and their mean statement vectors (e5, USE).
    problem_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    problem_e5: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    problem_use: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    # index.judged.JudgedVectors, stored the same way: each judged problem's vectors and
    # the rows it votes for (CSR: judged_ptr into judged_rows and judged_good).
    judged_e5: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    judged_use: np.ndarray = field(default_factory=lambda: np.zeros((0, 0), np.float32))
    judged_ptr: np.ndarray = field(default_factory=lambda: np.zeros(1, np.int64))
    judged_rows: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    judged_good: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))

    def with_problems(self, problems) -> CalibrationVectors:
        """These vectors with `problems` (an index.problems.ProblemVectors)."""
        return replace(self, problem_rows=problems.rows, problem_e5=problems.e5, problem_use=problems.use)

    def with_judged(self, judged) -> CalibrationVectors:
        """These vectors with `judged` (an index.judged.JudgedVectors)."""
        return replace(self, **{name: getattr(judged, name.removeprefix("judged_")) for name in _JUDGED_FIELDS})

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        np.savez(
            buffer,
            passage_mean=self.passage_mean,
            **{f"query_mean_{lang}": self.query_means[lang] for lang in LANGS},  # type: ignore[arg-type]  # never allow_pickle
            e5_in=self.e5_in,
            in_langs=self.in_langs,
            e5_out=self.e5_out,
            use_in=self.use_in,
            use_out=self.use_out,
            problem_rows=self.problem_rows,
            problem_e5=self.problem_e5,
            problem_use=self.problem_use,
            **{name: getattr(self, name) for name in _JUDGED_FIELDS},
        )
        return buffer.getvalue()

    @classmethod
    def load(cls, path: Path | BinaryIO, dim: int) -> CalibrationVectors:
        try:
            with np.load(path, allow_pickle=False) as data:
                out = cls(
                    passage_mean=data["passage_mean"],
                    query_means={lang: data[f"query_mean_{lang}"] for lang in LANGS},
                    e5_in=data["e5_in"],
                    in_langs=data["in_langs"],
                    e5_out=data["e5_out"],
                    use_in=data["use_in"],
                    use_out=data["use_out"],
                    # An index built before item problems has none: it serves without them.
                    **{name: data[name] for name in _PROBLEM_FIELDS if name in data.files},
                    # ... and before judged problems: it serves without their votes.
                    **{name: data[name] for name in _JUDGED_FIELDS if name in data.files},
                )
        except (OSError, ValueError, KeyError) as exc:
            raise IndexCorrupt(f"{path}: unreadable calibration vectors ({exc}); run `boussole build --force`") from exc
        rows = len(out.problem_rows)
        if rows and (out.problem_e5.shape != (rows, dim) or len(out.problem_use) != rows):
            raise IndexCorrupt(f"{path}: item problem vectors do not fit; run `boussole build --force`")
        judged = len(out.judged_e5)
        if judged and (
            out.judged_e5.shape != (judged, dim)
            or len(out.judged_use) != judged
            or len(out.judged_ptr) != judged + 1
            or len(out.judged_rows) != len(out.judged_good)
            or int(out.judged_ptr[-1]) != len(out.judged_rows)
        ):
            raise IndexCorrupt(f"{path}: judged problem vectors do not fit; run `boussole build --force`")
        if out.passage_mean.shape != (dim,) or out.e5_in.shape[1:] != (dim,):
            raise IndexCorrupt(f"{path}: calibration vectors do not fit dimension {dim}; run `boussole build --force`")
        return out


def embed_questions(embedder, texts: list[str], cache: EmbeddingCache) -> np.ndarray:
    """Query-side vectors, cached under cache.query_key: an int8 build and an fp32 build
    share the cache file but not their vectors."""
    precision = passage_precision(embedder)
    keys = [query_key(t, precision) for t in texts]
    missing = [i for i, k in enumerate(keys) if cache.get(k) is None]
    if missing:
        for i, vector in zip(missing, embedder.embed_queries([texts[i] for i in missing])):
            cache.put(keys[i], np.asarray(vector, dtype=np.float32))
    return np.stack([cache.get(k) for k in keys]).astype(np.float32)  # type: ignore[misc]  # all cached above


def embed_calibration_questions(
    calibration: CalibrationSet,
    e5,
    use,
    e5_cache: EmbeddingCache,
    use_cache: EmbeddingCache,
) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray, np.ndarray]:
    """The calibration questions' vectors, through the caches: e5 in-scope by language, e5
    out-of-scope, USE in-scope, USE out-of-scope. The builder calls it while the passages are
    still being encoded, so that `calibrate` then finds every vector in the caches; the
    same texts in the same calls either way, so the same vectors."""
    by_lang = {lang: embed_questions(e5, list(calibration.in_scope[lang]), e5_cache) for lang in LANGS}
    e5_out = embed_questions(e5, calibration.out_of_scope_all, e5_cache)
    use_in = embed_questions(use, calibration.in_scope_all, use_cache)
    use_out = embed_questions(use, calibration.out_of_scope_all, use_cache)
    return by_lang, e5_out, use_in, use_out


def calibrate(
    calibration: CalibrationSet,
    e5,
    use,
    e5_passages: np.ndarray,
    use_passages: np.ndarray,
    e5_cache: EmbeddingCache,
    use_cache: EmbeddingCache,
) -> tuple[CalibrationVectors, ScopeModel]:
    """Means for centring and the fitted scope model."""
    by_lang, e5_out, use_in, use_out = embed_calibration_questions(calibration, e5, use, e5_cache, use_cache)
    e5_in = np.concatenate([by_lang[lang] for lang in LANGS])
    vectors = CalibrationVectors(
        passage_mean=e5_passages.mean(axis=0).astype(np.float32),
        query_means={lang: by_lang[lang].mean(axis=0).astype(np.float32) for lang in LANGS},
        e5_in=e5_in,
        in_langs=np.array([lang for lang in LANGS for _ in calibration.in_scope[lang]]),
        e5_out=e5_out,
        use_in=use_in,
        use_out=use_out,
    )

    featurise = scope_featuriser(
        e5_in, use_in, calibration.in_scope_groups, e5_out, use_out, calibration.out_of_scope_groups, use_passages
    )
    every_in, every_out = np.arange(len(e5_in)), np.arange(len(e5_out))
    positive, negative = featurise(every_in, every_out, every_in, every_out)
    topics = topic_groups(np.c_[use_in, e5_in], calibration.in_scope_groups)
    safety = cross_validated_safety(featurise, topics, calibration.out_of_scope_groups)
    model = fit_scope_model(positive, negative, FITTED_ON, safety)
    return vectors, model


def scope_featuriser(e5_in, use_in, in_groups, e5_out, use_out, out_groups, use_passages):
    """`featurise(rows_in, rows_out, ref_in, ref_out)`: the scope features (index.scope) of
    the in-scope calibration rows `rows_in` and out-of-scope rows `rows_out`, against the
    reference questions `ref_in` and `ref_out` alone, each row's translation pair held out."""
    best_in, best_out = (use_in @ use_passages.T).max(axis=1), (use_out @ use_passages.T).max(axis=1)

    def rows(e5_rows, use_rows, groups, best, ref_in, ref_out) -> np.ndarray:
        refs = (in_groups[ref_in], out_groups[ref_out])
        return np.stack(
            [
                held_out_margins(use_rows, groups, use_in[ref_in], refs[0], use_out[ref_out], refs[1]),
                held_out_margins(e5_rows, groups, e5_in[ref_in], refs[0], e5_out[ref_out], refs[1]),
                best,
            ],
            axis=1,
        )

    def featurise(rows_in, rows_out, ref_in, ref_out) -> tuple[np.ndarray, np.ndarray]:
        return (
            rows(e5_in[rows_in], use_in[rows_in], in_groups[rows_in], best_in[rows_in], ref_in, ref_out),
            rows(e5_out[rows_out], use_out[rows_out], out_groups[rows_out], best_out[rows_out], ref_in, ref_out),
        )

    return featurise


def hubness(passages: np.ndarray, calibration: CalibrationVectors, k: int = 10) -> np.ndarray:
    """Each passage's mean similarity to its k nearest (centred) calibration questions: the
    CSLS penalty term of Conneau et al. (2018), "Word Translation Without Parallel Data".
    A passage close to many questions at once is a hub that crowds unrelated answers."""
    from boussole.index.centring import centre

    questions = np.concatenate(
        [centre(calibration.e5_in[calibration.in_langs == lang], calibration.query_means[lang]) for lang in LANGS]
    )
    return _mean_top_k_similarity(passages, questions, k)


def _mean_top_k_similarity(passages: np.ndarray, questions: np.ndarray, k: int) -> np.ndarray:
    """Each passage's mean similarity to its k most similar questions."""
    sims = passages @ questions.T
    k = min(k, sims.shape[1])
    return np.sort(sims, axis=1)[:, -k:].mean(axis=1).astype(np.float32)


def outlying_hubs(passages: np.ndarray, questions: np.ndarray, z: float, k: int = 10) -> np.ndarray:
    """How far each passage's hubness (mean similarity to its k nearest calibration
    questions) lies above the corpus mean + z standard deviations; 0 for all the others.

    A plain CSLS penalty lowers every passage by its hubness and cost nDCG on the tuning
    half; only a few passages are real hubs (a conference speaker's "a smart city is
    first a human city" came up for one question in nine), so only the outliers pay.
    """
    scores = _mean_top_k_similarity(passages, questions, k)
    return np.maximum(0.0, scores - (scores.mean() + z * scores.std())).astype(np.float32)


__all__ = [
    "CALIBRATION_METHOD",
    "CalibrationVectors",
    "calibrate",
    "embed_calibration_questions",
    "embed_questions",
    "hubness",
    "outlying_hubs",
]
