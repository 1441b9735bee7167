"""Micro-batched query encoding: concurrent callers get exactly their own vectors.

The wrapped encoders are the real ones (ONNX int8, the default, and sentence-transformers
torch, whose batches really mix queries of different lengths in one forward pass).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from boussole.index.encoders.factory import DEFAULT_MODEL, load_encoder, load_second_encoder
from boussole.service.batching import Overloaded, QueryBatcher

# Different lengths and languages, so batches need padding; none from the benchmark.
TEXTS = [
    f"{subject} {place}"
    for subject in (
        "broadband for informal settlements",
        "la participation des habitants aux budgets numériques",
        "open data portal",
        "protection des données personnelles collectées par les capteurs dans l'espace public",
        "skills",
        "how can a city keep its pilot projects alive when the grant money runs out next year",
    )
    for place in ("", "in Nairobi", "à Dakar, au Sénégal", "for our regional council")
]


@pytest.fixture(scope="module", params=["int8", "torch"])
def inner(request, models_dir):
    return load_encoder(DEFAULT_MODEL, models_dir, encoder=request.param)


def test_concurrent_callers_get_the_unbatched_vectors(inner):
    expected = {text: inner.embed_queries([text])[0] for text in TEXTS}
    batcher = QueryBatcher(inner, max_batch=8, max_wait=0.01)
    start = threading.Barrier(12)

    def call(i: int) -> list[tuple[str, np.ndarray]]:
        start.wait()
        out = []
        for j in range(i, len(TEXTS), 12):
            texts = [TEXTS[j]] if j % 3 else [TEXTS[j], TEXTS[-1 - j]]  # some callers send two
            out.extend(zip(texts, batcher.embed_queries(texts)))
        return out

    try:
        with ThreadPoolExecutor(12) as pool:
            results = [pair for part in pool.map(call, range(12)) for pair in part]
    finally:
        batcher.close()
    assert len(results) > len(TEXTS)
    for text, vector in results:
        assert vector.dtype == np.float32 and vector.shape == (inner.dim,)
        np.testing.assert_allclose(vector, expected[text], atol=1e-5, err_msg=text)
    assert batcher.largest_batch > 1  # the callers really were batched together
    assert batcher.batches < len(results)


def test_it_passes_the_embedder_identity_through(inner):
    batcher = QueryBatcher(inner)
    try:
        assert (batcher.model_id, batcher.dim, batcher.fingerprint) == (inner.model_id, inner.dim, inner.fingerprint)
        assert batcher.embed_queries([]).shape == (0, inner.dim)
        with pytest.raises(TypeError):
            batcher.embed_queries("a string")
    finally:
        batcher.close()


class _Gate:
    """An encoder that holds its first call until released, to fill the queue for sure."""

    dim = 4

    def __init__(self) -> None:
        self.entered = threading.Event()
        self.release = threading.Event()

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        self.entered.set()
        self.release.wait(30)
        return np.ones((len(texts), self.dim), np.float32)


def test_a_full_queue_refuses_at_once_and_recovers():
    gate = _Gate()
    batcher = QueryBatcher(gate, max_batch=1, max_queue=2, max_wait=0)
    with ThreadPoolExecutor(3) as pool:
        busy = pool.submit(batcher.embed_queries, ["held by the encoder"])
        assert gate.entered.wait(10)
        queued = [pool.submit(batcher.embed_queries, [f"waiting {i}"]) for i in range(2)]
        while batcher.pending < 2:
            threading.Event().wait(0.01)
        with pytest.raises(Overloaded) as refused:
            batcher.embed_queries(["one too many"])
        assert refused.value.retry_after >= 1
        gate.release.set()
        assert busy.result(10).shape == (1, 4)
        assert all(f.result(10).shape == (1, 4) for f in queued)
    assert batcher.embed_queries(["after the rush"]).shape == (1, 4)
    batcher.close()
    with pytest.raises(Overloaded):
        batcher.embed_queries(["after close"])


def test_an_encoder_error_reaches_every_caller_of_the_batch():
    class Broken:
        dim = 4

        def embed_queries(self, texts):
            raise RuntimeError("encoder failed")

    batcher = QueryBatcher(Broken())
    with pytest.raises(RuntimeError, match="encoder failed"):
        batcher.embed_queries(["x"])
    assert batcher.alive  # the worker survives and serves the next batch
    batcher.close()


def test_a_search_runs_both_encoders_at_once(index_dir, models_dir):
    """The second encoder is queued first and e5 runs while it works: e5 here waits for the
    second encoder to have started, which a search that encodes one after the other never
    lets happen. The results equal those of the plain, sequential searcher."""
    from boussole.index.searcher import Searcher

    plain = Searcher.open(index_dir, models_dir)
    use_started = threading.Event()

    class SignallingUse:
        def __init__(self) -> None:
            self._use = load_second_encoder(models_dir)
            self.dim, self.fingerprint, self.model_id = self._use.dim, self._use.fingerprint, self._use.model_id

        def embed_queries(self, texts):
            use_started.set()
            return self._use.embed_queries(texts)

    class WaitingE5:
        def __init__(self, inner) -> None:
            self._inner = inner

        def __getattr__(self, name):
            return getattr(self._inner, name)

        def embed_queries(self, texts):
            assert use_started.wait(timeout=10), "e5 ran before the second encoder was even started"
            return self._inner.embed_queries(texts)

    second = QueryBatcher(SignallingUse(), max_wait=0.0)
    both = Searcher.open(index_dir, models_dir, embedder=WaitingE5(plain._embedder), second=second)
    try:
        for query in ("broadband for informal settlements in Nairobi", "la participation des habitants"):
            use_started.clear()
            got, want = both.search(query, k=10), plain.search(query, k=10)
            assert [h.chunk.id for h in got.hits] == [h.chunk.id for h in want.hits]
            assert [h.score for h in got.hits] == pytest.approx([h.score for h in want.hits], abs=1e-5)
    finally:
        second.close()
