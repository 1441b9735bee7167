"""Progress messages of long index steps, and the one that counts (light: no numpy).

A step reports through a `Progress` callback, one message per call. A counted step (the
passages embedded so far) sends `Counted` messages: any Progress can print them as they
are, and a reporter that knows them (service.cli.progress) shows one updating count.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Self

Progress = Callable[[str], None]
# Passages per embedder call when progress is reported: a count every few seconds (e5 on two
# cores: about 40 ms a passage); each call still spreads its passages over every core.
PROGRESS_SLICE = 64


class Counted(str):
    """A progress message that counts ("label done/total"): any Progress can print it as it
    is, and a reporter that knows it (service.cli.progress) shows one updating count."""

    label: str
    done: int
    total: int

    def __new__(cls, label: str, done: int, total: int) -> Self:
        message = super().__new__(cls, f"{label} {done}/{total}")
        message.label, message.done, message.total = label, done, total
        return message
