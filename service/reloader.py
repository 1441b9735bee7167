"""Serve the newest built index without a restart.

`boussole build` swaps the `data/index` pointer atomically (index.store). A watcher thread
notices the new target, opens it beside the one being served, then replaces
`app.state.searcher` in one assignment: requests already running finish on the old
searcher they hold, new ones get the new searcher, so no request fails during the swap.
A version that cannot be opened is logged once and the current one stays in service.

The replaced searcher is then closed (`close()`: its batching encoder's worker thread),
once no request holds it any more: the HTTP routes hold theirs through `lease()`; for
readers that take `state.searcher` without a lease (the MCP server), a replaced searcher
is also kept open for `grace` seconds after the swap. Without this, every reload left
one encoder thread (and the old index's memory) behind for good.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

from boussole.errors import BoussoleError
from boussole.index.backends.base import ServedVersion
from boussole.index.backends.factory import create_backend
from boussole.service.errors_http import ServiceNotReady
from boussole.service.recommend import SearchBackend
from boussole.service.settings import Settings

log = logging.getLogger("boussole.service")
RETIRE_GRACE = 10.0  # seconds a replaced searcher stays open for readers without a lease


def served_info(settings: Settings) -> ServedVersion:
    """What the configured backend serves now, as /readyz and /v1/documents report it
    (nothing when it cannot be asked this time: Milvus unreachable)."""
    try:
        return create_backend(settings.backend_choice, settings.index_dir).served()
    except BoussoleError:
        return ServedVersion(None)


class IndexReloader:
    """Loads the index onto `state` (searcher, index_info) and reloads it when it changes."""

    def __init__(
        self,
        state: Any,
        settings: Settings,
        open_searcher: Callable[[Settings], SearchBackend],
        wrap: Callable[[SearchBackend], SearchBackend],
        interval: float | None,
        grace: float = RETIRE_GRACE,
    ) -> None:
        self._state = state
        self._settings = settings
        self._open = open_searcher
        self._wrap = wrap
        self._interval = interval
        self._grace = grace
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failed: ServedVersion | None = None
        self._lock = threading.Lock()  # guards the lease counts and the retired list
        self._leases: dict[int, int] = {}  # id(searcher) -> requests holding it
        self._retired: list[tuple[SearchBackend, float]] = []  # replaced searchers, when replaced

    @contextlib.contextmanager
    def lease(self) -> Iterator[SearchBackend]:
        """The searcher served now, kept open until the `with` block ends."""
        with self._lock:
            searcher = getattr(self._state, "searcher", None)
            if searcher is None:
                raise ServiceNotReady("The index is not loaded yet; try again shortly.")
            self._leases[id(searcher)] = self._leases.get(id(searcher), 0) + 1
        try:
            yield searcher
        finally:
            with self._lock:
                left = self._leases[id(searcher)] - 1
                if left:
                    self._leases[id(searcher)] = left
                else:
                    del self._leases[id(searcher)]
            if not left:
                self.close_retired()

    def close_retired(self, *, now: float | None = None, everything: bool = False) -> int:
        """Close the replaced searchers that no request holds and whose grace period is
        over (`everything`: all of them, leases or not: the app is stopping). Returns how
        many were closed."""
        now = time.monotonic() if now is None else now
        with self._lock:
            done = [
                (searcher, since)
                for searcher, since in self._retired
                if everything or (id(searcher) not in self._leases and now - since >= self._grace)
            ]
            self._retired = [entry for entry in self._retired if entry not in done]
        for searcher, _ in done:
            _close(searcher)
        return len(done)

    def close(self) -> None:
        """Stop watching and close every searcher, the served one included (app shutdown)."""
        self.stop()
        with self._lock:
            current = getattr(self._state, "searcher", None)
            if current is not None:
                self._retired.append((current, time.monotonic()))
            self._state.searcher = None
        self.close_retired(everything=True)

    def load(self, searcher: SearchBackend | None = None) -> None:
        """Open the current index (or publish `searcher`, opened by the caller); raises on failure."""
        info = served_info(self._settings)
        opened = searcher if searcher is not None else self._open(self._settings)
        if info.path is None and getattr(opened, "version", None):  # Milvus: name what was opened
            info = ServedVersion(opened.version, opened.manifest.built_at, None)  # type: ignore[attr-defined]
        self._publish(opened, info)

    def _publish(self, searcher: SearchBackend, info: ServedVersion) -> None:
        # The searcher first: once index_info names a version, that version answers.
        with self._lock:
            old = getattr(self._state, "searcher", None)
            self._state.searcher = self._wrap(searcher)
            if old is not None and old is not self._state.searcher:
                self._retired.append((old, time.monotonic()))
        self._state.index_info = info
        self.close_retired()

    def check(self) -> bool:
        """Reload when the pointer names another folder than the one served; True if swapped."""
        info = served_info(self._settings)
        served = getattr(self._state, "index_info", None)
        if served is not None and (info.path, info.version) == (served.path, served.version):
            return False
        if info.version is None or info == self._failed:
            return False  # no complete index there (yet), or already reported
        try:
            searcher = self._open(self._settings)
        except Exception as exc:  # noqa: BLE001 - keep serving the old index whatever happened
            self._failed = info
            log.error(
                "index %s not loaded, still serving %s: %s", info.version, served.version if served else "nothing", exc
            )
            return False
        if info.path is None:  # Milvus: the collection opened may be newer than the one seen
            # an index opened from Milvus is a Searcher, which has both (SearchBackend need not)
            info = ServedVersion(searcher.version, searcher.manifest.built_at, None)  # type: ignore[attr-defined]
        self._publish(searcher, info)
        self._failed = None
        log.info("now serving index %s (built %s)", info.version, info.built_at)
        return True

    def start(self) -> None:
        if not self._interval:
            return
        self._thread = threading.Thread(target=self._watch, name="index-reloader", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)

    def _watch(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.check()
                self.close_retired()
            except Exception:  # noqa: BLE001 - the watcher must outlive any one failure
                log.exception("index watcher failed; it keeps watching")


def _close(searcher: SearchBackend) -> None:
    """Release what a searcher started, if it says how (index.searcher.Searcher.close)."""
    close = getattr(searcher, "close", None)
    if close is None:
        return
    try:
        close()
    except Exception:  # noqa: BLE001 - a replaced index failing to close must not stop serving
        log.exception("closing a replaced index failed")
