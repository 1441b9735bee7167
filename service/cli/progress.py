"""Progress of the long commands (build, eval) on stderr, in a terminal and in a log file.

Each step is one line ("… message"). Counts (index.builder.Counted, e.g. passages
embedded) update a single line in a terminal. When stderr is not a terminal (`make run >
log`, a service manager), an updating line would be one unreadable line and a long step
would look stalled: a count is written as a new line when it moves, at most every
`interval` seconds, and when it ends; a step without counts gets a line with its elapsed
time every `interval` seconds.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from typing import Self, TextIO

from boussole.index.progress import Counted

LOG_INTERVAL = 10.0  # seconds between two lines of one step in a log file


class ProgressReporter:
    """A `Progress` callback (index.builder) that writes to `stream` (default stderr).

    Used as a context manager: in a log file, a thread writes the periodic lines until
    the end of the block. Safe to call from several threads (the builder embeds with two
    encoders at once: their counts share one line).
    """

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        terminal: bool | None = None,
        interval: float = LOG_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream or sys.stderr
        self._terminal = self._stream.isatty() if terminal is None else terminal
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._counts: dict[str, tuple[int, int]] = {}  # label -> (done, total), while counting
        self._step = ""
        self._step_started = self._last_line = clock()
        self._open_width = 0  # terminal: width of the updating line not yet ended
        self._done = threading.Event()
        self._ticker: threading.Thread | None = None

    def __call__(self, message: str) -> None:
        with self._lock:
            if not isinstance(message, Counted):
                self._step, self._step_started = str(message), self._clock()
                self._line(message)
                return
            self._counts[message.label] = (message.done, message.total)
            finished = message.done >= message.total
            if self._terminal:
                self._update(self._count_text(), end=finished)
            elif finished or self._clock() - self._last_line >= self._interval:
                self._line(self._count_text())
            if finished:
                del self._counts[message.label]

    def tick(self) -> None:
        """In a log file: the step under way and its elapsed time when nothing was written
        for `interval` seconds (the thread calls it every second). Not while counting: the
        counts themselves say it, when they move."""
        with self._lock:
            now = self._clock()
            if self._terminal or self._counts or not self._step or now - self._last_line < self._interval:
                return
            self._line(f"{self._step} — {now - self._step_started:.0f} s")

    def __enter__(self) -> Self:
        if not self._terminal:
            self._ticker = threading.Thread(target=self._tick_until_done, name="boussole-progress", daemon=True)
            self._ticker.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._done.set()
        if self._ticker is not None:
            self._ticker.join()
        with self._lock:
            self._end_open_line()

    def _tick_until_done(self) -> None:
        while not self._done.wait(1.0):
            self.tick()

    def _count_text(self) -> str:
        return ", ".join(
            f"{label} {done}/{total} ({100 * done // max(total, 1)} %)" for label, (done, total) in self._counts.items()
        )

    def _line(self, text: str) -> None:
        self._end_open_line()
        self._stream.write(f"… {text}\n")
        self._stream.flush()
        self._last_line = self._clock()

    def _update(self, text: str, end: bool) -> None:
        """Terminal: rewrite the updating line (padded over a longer previous text)."""
        line = f"… {text}"
        self._stream.write("\r" + line.ljust(self._open_width) + ("\n" if end else ""))
        self._stream.flush()
        self._open_width = 0 if end else len(line)

    def _end_open_line(self) -> None:
        if self._open_width:
            self._stream.write("\n")
            self._open_width = 0
