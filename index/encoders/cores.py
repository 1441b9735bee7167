"""How many threads an encoder (or a search pool) may use on this machine."""

from __future__ import annotations

import os


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def count_from_env(name: str, default: int) -> int:
    """A positive whole number from environment variable `name`, else `default`."""
    configured = os.environ.get(name, "").strip()
    return int(configured) if configured.isdigit() and int(configured) > 0 else default


def default_threads() -> int:
    """Torch threads for encoding: BOUSSOLE_THREADS, else half the available CPUs.

    Logical CPUs are usually hyperthread pairs, which do not speed up matrix products, and
    OpenMP's synchronisation costs more than a sibling thread brings: on this project's
    2-vCPU machines one thread encodes passages twice as fast as two (13 vs 6.5 per second,
    measured with sentence-transformers on multilingual-e5-small).
    """
    return count_from_env("BOUSSOLE_THREADS", max(1, available_cores() // 2))
