"""Micro-batching of query encoding for the HTTP service.

Encoding a query is almost the whole cost of a search, and on CPU a forward pass over
sixteen queries costs far less than sixteen passes over one. `QueryBatcher` wraps any
`Encoder` and is a `BatchingEncoder` (index.encoders.base): callers from many threads
put their texts on a bounded queue and block on a future; one worker thread takes
whatever has arrived (up to `max_batch` texts, waiting at most `max_wait` seconds for
more once the first is there), encodes it in one call, and hands each caller its rows.
A full queue raises `Overloaded` at once, which the API answers with 503 and
`Retry-After`, so latency stays bounded instead of growing with the backlog.

Only the worker thread touches the wrapped encoder, which also makes encoders that are
not thread-safe (Hugging Face tokenizers: "Already borrowed") safe to share.
"""

from __future__ import annotations

import queue
import threading
import time
from concurrent.futures import Future
from dataclasses import dataclass, field

import numpy as np

from boussole.errors import BoussoleError
from boussole.index.encoders.base import Encoder, passage_precision

DEFAULT_MAX_BATCH = 32
DEFAULT_MAX_WAIT = 0.002  # seconds: a lone query waits at most this long for company
DEFAULT_MAX_QUEUE = 128  # queries waiting to be encoded; more is a 503


class Overloaded(BoussoleError):
    """The encoding queue is full: the caller should retry after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message)
        self.retry_after = retry_after


@dataclass
class _Request:
    texts: list[str]
    future: Future = field(default_factory=Future)


class QueryBatcher:
    """A `BatchingEncoder` over `inner`: `embed_queries` and `submit` are batched across
    threads; `embed_documents` and the identity (`model_id`, `dim`, `fingerprint`) are the
    wrapped encoder's.
    """

    def __init__(
        self,
        inner: Encoder,
        *,
        max_batch: int = DEFAULT_MAX_BATCH,
        max_wait: float = DEFAULT_MAX_WAIT,
        max_queue: int = DEFAULT_MAX_QUEUE,
        name: str = "boussole-encoder",
    ) -> None:
        if max_batch < 1 or max_queue < 1 or max_wait < 0:
            raise ValueError("max_batch and max_queue must be >= 1 and max_wait >= 0")
        self._inner = inner
        self.max_batch = max_batch
        self.max_wait = max_wait
        self.max_queue = max_queue
        self._queue: queue.Queue[_Request | None] = queue.Queue(maxsize=max_queue)
        self._closed = False
        self.batches = 0  # forward passes run, for tests and the load report
        self.largest_batch = 0
        self._worker = threading.Thread(target=self._run, name=name, daemon=True)
        self._worker.start()

    @property
    def model_id(self) -> str:
        return self._inner.model_id

    @property
    def fingerprint(self) -> str:
        return self._inner.fingerprint

    @property
    def dim(self) -> int:
        return self._inner.dim

    @property
    def passage_precision(self) -> str:
        return passage_precision(self._inner)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self._inner.embed_documents(texts)

    @property
    def alive(self) -> bool:
        return self._worker.is_alive() and not self._closed

    @property
    def pending(self) -> int:
        return self._queue.qsize()

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self.submit(texts).result()

    def submit(self, texts: list[str]) -> Future[np.ndarray]:
        """Queue `texts` and return at once: a future of their vectors, so that a caller can
        run another encoder meanwhile. Raises `Overloaded` when the queue is full."""
        if isinstance(texts, str):
            raise TypeError("pass a list of strings, not a string")
        texts = list(texts)
        request = _Request(texts)
        if not texts:
            request.future.set_result(np.zeros((0, self.dim), np.float32))
            return request.future
        if self._closed:
            raise Overloaded("The service is shutting down; try again shortly.")
        try:
            self._queue.put_nowait(request)
        except queue.Full:
            raise Overloaded(
                f"The server is busy ({self.max_queue} questions waiting); try again in a second."
            ) from None
        return request.future

    def close(self) -> None:
        """Stop the worker after the queries already queued; later calls get Overloaded.
        The wrapped encoder is not closed: the caller gave it and may use it again."""
        if self._closed:
            return
        self._closed = True
        self._queue.put(None)
        self._worker.join(timeout=10)

    # -- the worker ----------------------------------------------------------------

    def _take_batch(self, first: _Request) -> tuple[list[_Request], bool]:
        """`first` plus whatever arrives within max_wait, up to max_batch texts."""
        batch, count = [first], len(first.texts)
        deadline = None
        while count < self.max_batch:
            try:
                if deadline is None:
                    request = self._queue.get_nowait()  # already waiting: no delay at all
                else:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    request = self._queue.get(timeout=remaining)
            except queue.Empty:
                if deadline is None and self.max_wait > 0:
                    deadline = time.monotonic() + self.max_wait
                    continue
                break
            if request is None:
                return batch, True
            batch.append(request)
            count += len(request.texts)
        return batch, False

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch, stop = self._take_batch(first)
            texts = [t for request in batch for t in request.texts]
            try:
                vectors = self._inner.embed_queries(texts)
            except BaseException as exc:  # noqa: BLE001 - every caller gets the error
                for request in batch:
                    request.future.set_exception(exc)
            else:
                self.batches += 1
                self.largest_batch = max(self.largest_batch, len(texts))
                start = 0
                for request in batch:
                    end = start + len(request.texts)
                    request.future.set_result(vectors[start:end])
                    start = end
            if stop:
                return
