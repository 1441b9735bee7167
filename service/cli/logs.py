"""Logging for the long-running commands, configured by the CLI, never at import."""

from __future__ import annotations

import logging

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


def configure_logging(level: str) -> None:
    logging.basicConfig(level=level.upper(), format=FORMAT)
    for name in QUIET_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, BelowWarning) for f in logger.filters):
            logger.addFilter(BelowWarning())
