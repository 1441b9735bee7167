"""A few dedicated threads for the CPU-bound part of the API: searching and its JSON.

With FastAPI's `def` routes a search runs on anyio's default pool of 40 threads: at 32
concurrent searches, 32 threads take turns at the interpreter lock with the event loop,
and a /healthz waited up to ~210 ms for its turn (measured with bench/load.py, c=32).
Searches gain nothing from more threads than cores (the work is CPU-bound; the encoder
batches behind its own single worker), so `/v1/search` and `/v1/recommend` run on
`SearchWorkers`: `threads` threads (default: one per available CPU), each doing the
whole request, from the search to the response's JSON bytes, so that the event loop only
parses small bodies and writes bytes, and at most `threads` threads compete with it.

The wait for a worker is bounded: past `max_waiting` requests waiting, `run` raises
`Overloaded` at once (503 with Retry-After), instead of letting latency grow.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from boussole.service.batching import Overloaded

T = TypeVar("T")


def default_search_threads() -> int:
    """BOUSSOLE_SEARCH_THREADS, else one per available CPU."""
    from boussole.index.encoders.cores import available_cores, count_from_env

    return count_from_env("BOUSSOLE_SEARCH_THREADS", available_cores())


class SearchWorkers:
    """`await workers.run(fn, *args)`: fn(*args) on one of `threads` threads.

    `run` is called from the event loop only (the counter needs no lock).
    """

    def __init__(self, threads: int | None = None, max_waiting: int = 128) -> None:
        self.threads = threads or default_search_threads()
        if self.threads < 1 or max_waiting < 1:
            raise ValueError("threads and max_waiting must be >= 1")
        self.max_waiting = max_waiting
        self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="boussole-search")
        self._in_flight = 0  # running + waiting for a thread

    @property
    def waiting(self) -> int:
        return max(0, self._in_flight - self.threads)

    async def run(self, fn: Callable[..., T], *args) -> T:
        if self._in_flight >= self.threads + self.max_waiting:
            raise Overloaded(f"The server is busy ({self.max_waiting} requests waiting); try again in a second.")
        self._in_flight += 1
        try:
            return await asyncio.get_running_loop().run_in_executor(self._pool, functools.partial(fn, *args))
        finally:
            self._in_flight -= 1

    def close(self) -> None:
        """Finish the requests already running; drop those still waiting."""
        self._pool.shutdown(wait=True, cancel_futures=True)
