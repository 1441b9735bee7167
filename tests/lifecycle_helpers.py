"""Shared by the lifecycle tests: a writable copy of the session's data folder, a corpus of
one short document, and the real `boussole` command run as an operator would run it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from server import boussole_command

NEW_DOC = "lifecycle-note"
NEW_CHUNK = "lifecycle-note:1"
NEW_TEXT = "The quarrymen of Vellardine run a lantern cooperative that lights the ferry steps every night."
NOTE_ENTRY = (
    f'[[document]]\nid = "{NEW_DOC}"\ntitle = "Note on municipal lantern cooperatives"\n'
    f'lang = "en"\ndate = "2026"\npublisher = "Boussole tests"\nkind = "strategy"\nsource = "{NEW_DOC}.md"\n'
)
NOTE_TEXT = f"# Note on municipal lantern cooperatives\n\n## Lantern cooperatives\n\n1. {NEW_TEXT}\n"


def copy_data(data_dir: Path, destination: Path) -> Path:
    """The session data folder, symlinks kept (models shared, index pointer relative), with
    its embedding cache, so a rebuild embeds only changed chunks."""
    shutil.copytree(data_dir, destination, symlinks=True)
    return destination


def note_corpus(destination: Path) -> Path:
    """A corpus of one short document with a distinctive sentence: an index of it builds in
    seconds, and a server that serves it answers NEW_TEXT with NEW_CHUNK first."""
    destination.mkdir(parents=True)
    (destination / "documents.toml").write_text(NOTE_ENTRY, encoding="utf-8")
    (destination / f"{NEW_DOC}.md").write_text(NOTE_TEXT, encoding="utf-8")
    return destination


def env_for(data: Path, corpus: Path | None = None, **extra: str) -> dict[str, str]:
    env = {**os.environ, "BOUSSOLE_DATA_DIR": str(data), "BOUSSOLE_THREADS": "1", **extra}
    env.pop("BOUSSOLE_DEBUG", None)
    if corpus is not None:
        env["BOUSSOLE_CORPUS_DIR"] = str(corpus)
    return env


def run_boussole(args: list[str], env: dict[str, str], prefix: list[str] = (), timeout: float = 600):
    return subprocess.run(
        [*prefix, *boussole_command(), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )


def served_version(data: Path) -> str:
    """The version folder data/index points at."""
    return Path(os.readlink(data / "index")).name
