"""Turn errors into one-line CLI messages: what went wrong, where, and what to do.

A traceback is printed only with `boussole --debug` (or BOUSSOLE_DEBUG=1): operators read
the line, developers ask for the trace.
"""

from __future__ import annotations

import errno
import functools
import os
import sys
import traceback

import click

from boussole.errors import BoussoleError

_HINTS = {
    errno.ENOSPC: "free some disk space, then run the command again (the index in service is unchanged)",
    errno.EDQUOT: "free some space in your quota, then run the command again (the index in service is unchanged)",
    errno.EACCES: "check that this user may write there, or point --data-dir at a folder it owns",
    errno.EPERM: "check that this user may write there, or point --data-dir at a folder it owns",
    errno.EROFS: "the file system is read-only: point --data-dir at a writable folder",
}


def debug_enabled() -> bool:
    if os.environ.get("BOUSSOLE_DEBUG", "") not in ("", "0"):
        return True
    context = click.get_current_context(silent=True)
    return bool(context and context.find_root().params.get("debug"))


def describe_os_error(exc: OSError) -> str:
    where = f" ({exc.filename})" if exc.filename else ""
    reason = exc.strerror or str(exc)
    hint = _HINTS.get(exc.errno or -1, "run again with `boussole --debug` for details")
    return f"{reason}{where}: {hint}"


def handle_errors(command):
    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except BrokenPipeError:
            reader_went_away()
        except Exception as exc:  # noqa: BLE001 - a newcomer sees one line, not a traceback
            if debug_enabled():
                traceback.print_exc(file=sys.stderr)
            raise click.ClickException(_message(exc)) from None

    return wrapper


def reader_went_away() -> None:
    """`boussole search … | head`: the reader has what it wanted; exit quietly with 0.

    stdout is pointed at /dev/null so that the interpreter's final flush does not raise
    the same error again (the recipe in Python's `signal` documentation).
    """
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    raise SystemExit(0)


def _message(exc: Exception) -> str:
    if isinstance(exc, BoussoleError):
        return str(exc)
    if isinstance(exc, OSError):
        return describe_os_error(exc)
    return f"unexpected error: {type(exc).__name__}: {exc} (run again with `boussole --debug` for the traceback)"
