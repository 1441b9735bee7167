"""Serve the newest built index without a restart.

`boussole build` swaps the `data/index` pointer atomically (index.store). A watcher thread
notices the new target, opens it beside the one being served, then replaces
`app.state.searcher` in one assignment: requests already running finish on the old
searcher they hold, new ones get the new searcher, so no request fails during the swap.
A version that cannot be opened is logged once and the current one stays in service.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index import store
from ingest.errors import BoussoleError
from service.recommend import SearchBackend
from service.settings import Settings

log = logging.getLogger("boussole.service")


@dataclass(frozen=True)
class IndexInfo:
    """The index version being served, reported by /readyz and /v1/documents."""

    version: str | None
    built_at: str | None
    path: Path | None


def current_info(index_dir: Path) -> IndexInfo:
    """What `data/index` points at now (all None when there is no readable index)."""
    directory = store.resolve(index_dir)
    try:
        version = store.describe(directory)
    except BoussoleError:
        return IndexInfo(None, None, directory)
    return IndexInfo(version.name, version.built_at, directory)


def served_info(settings: Settings) -> IndexInfo:
    """What the configured backend serves now: the pointer's folder, or the Milvus alias's
    collection (path None; nothing when Milvus cannot be reached this time)."""
    if settings.backend == "faiss":
        return current_info(settings.index_dir)
    from index.backends import served_version

    try:
        return IndexInfo(served_version(settings.backend_choice, settings.index_dir), None, None)
    except BoussoleError:
        return IndexInfo(None, None, None)


class IndexReloader:
    """Loads the index onto `state` (searcher, index_info) and reloads it when it changes."""

    def __init__(
        self,
        state: Any,
        settings: Settings,
        open_searcher: Callable[[Settings], SearchBackend],
        wrap: Callable[[SearchBackend], SearchBackend],
        interval: float | None,
    ) -> None:
        self._state = state
        self._settings = settings
        self._open = open_searcher
        self._wrap = wrap
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failed: IndexInfo | None = None

    def load(self, searcher: SearchBackend | None = None) -> None:
        """Open the current index (or publish `searcher`, opened by the caller); raises on failure."""
        info = served_info(self._settings)
        opened = searcher if searcher is not None else self._open(self._settings)
        if info.path is None and getattr(opened, "version", None):  # Milvus: name what was opened
            info = IndexInfo(opened.version, opened.manifest.built_at, None)
        self._publish(opened, info)

    def _publish(self, searcher: SearchBackend, info: IndexInfo) -> None:
        # The searcher first: once index_info names a version, that version answers.
        self._state.searcher = self._wrap(searcher)
        self._state.index_info = info

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
            log.error("index %s not loaded, still serving %s: %s", info.version,
                      served.version if served else "nothing", exc)
            return False
        if info.path is None:  # Milvus: the collection opened may be newer than the one seen
            info = IndexInfo(searcher.version, searcher.manifest.built_at, None)
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
            except Exception:  # noqa: BLE001 - the watcher must outlive any one failure
                log.exception("index watcher failed; it keeps watching")
