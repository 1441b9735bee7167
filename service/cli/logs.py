"""Logging for the long-running commands, configured by the CLI, never at import."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator

FORMAT = "%(levelname)s:     %(name)s: %(message)s"


class BelowWarning(logging.Filter):
    """Drop a logger's records below WARNING.

    faiss' loader tries its AVX-512 and AVX2 builds first and logs, at INFO, the
    `ModuleNotFoundError(...swigfaiss_avx512)` of each build that is not there: routine
    on most CPUs (it then loads the generic build), but it reads like an error.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING


QUIET_LOGGERS = ("faiss.loader",)
# uvicorn narrates its start and stop at INFO ("Started server process", "Waiting for
# application startup.", "Uvicorn running on …", "Shutting down", …): `boussole serve`
# says each in one line of its own. Its warnings and errors still show.
SERVER_LOGGERS = ("uvicorn.error",)
# Loggers whose INFO lines at start-up and shutdown repeat those lines ("index loaded
# from …", the MCP session manager "started" / "shutting down"); held back only then.
LIFESPAN_LOGGERS = ("boussole.service", "mcp.server.streamable_http_manager")


def configure_logging(level: str) -> None:
    """Root logging at `level`; below debug, the routine INFO lines above are dropped."""
    logging.basicConfig(level=level.upper(), format=FORMAT)
    for name in QUIET_LOGGERS + (SERVER_LOGGERS if level != "debug" else ()):
        logger = logging.getLogger(name)
        if not any(isinstance(f, BelowWarning) for f in logger.filters):
            logger.addFilter(BelowWarning())


@contextlib.contextmanager
def held_back(names: tuple[str, ...]) -> Iterator[None]:
    """Drop the INFO lines of loggers `names` for the duration of the block."""
    loggers = [logging.getLogger(name) for name in names]
    quiet = BelowWarning()
    for logger in loggers:
        logger.addFilter(quiet)
    try:
        yield
    finally:
        for logger in loggers:
            logger.removeFilter(quiet)
