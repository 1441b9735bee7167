"""The calibration set (index/calibration.toml): the only data tuned statistics come from.

The mean query vector per language (centring), and the scope classifier are computed
from it when an index is built; the benchmark is never used for either. Random letter
strings are added to the nonsense examples with a fixed seed, so a build is reproducible.
The French and English lists of each class are translations of each other, row for row.
"""

from __future__ import annotations

import random
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CALIBRATION_FILE = Path(__file__).resolve().parent / "calibration.toml"
RANDOM_STRINGS, RANDOM_SEED = 30, 20261122
LANGS = ("fr", "en")


@dataclass(frozen=True)
class CalibrationSet:
    in_scope: dict[str, tuple[str, ...]]  # lang -> officials' questions the guidelines answer
    out_of_scope: dict[str, tuple[str, ...]]  # lang -> questions they do not answer
    nonsense: tuple[str, ...]  # not a question at all

    @property
    def in_scope_all(self) -> list[str]:
        return [q for lang in LANGS for q in self.in_scope[lang]]

    @property
    def out_of_scope_all(self) -> list[str]:
        return [q for lang in LANGS for q in self.out_of_scope[lang]] + list(self.nonsense)

    @property
    def in_scope_groups(self) -> np.ndarray:
        """A group id per `in_scope_all` row: a question and its translation share one."""
        return np.tile(np.arange(len(self.in_scope[LANGS[0]])), len(LANGS))

    @property
    def out_of_scope_groups(self) -> np.ndarray:
        """A group id per `out_of_scope_all` row, none shared with `in_scope_groups`: the
        translated pairs share one, each nonsense string has its own."""
        start = len(self.in_scope[LANGS[0]])
        pairs = len(self.out_of_scope[LANGS[0]])
        paired = np.tile(np.arange(start, start + pairs), len(LANGS))
        return np.r_[paired, np.arange(start + pairs, start + pairs + len(self.nonsense))]

    def texts(self) -> list[str]:
        """Every calibration text once, for hashing into the index's identity."""
        return [*self.in_scope_all, *self.out_of_scope_all]


def random_strings(n: int = RANDOM_STRINGS, seed: int = RANDOM_SEED) -> list[str]:
    """Keyboard mashing: 1–4 'words' of 3–9 random lowercase letters."""
    rng = random.Random(seed)
    letters = "abcdefghijklmnopqrstuvwxyz"
    return [
        " ".join("".join(rng.choice(letters) for _ in range(rng.randint(3, 9))) for _ in range(rng.randint(1, 4)))
        for _ in range(n)
    ]


def load_calibration(path: Path = CALIBRATION_FILE) -> CalibrationSet:
    """The lists of each class are translations, row for row: the scope fit holds a question
    out together with its translation, so the two lists of a class must have one length."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    for section in ("in_scope", "out_of_scope"):
        lengths = {lang: len(data[section][lang]) for lang in LANGS}
        if len(set(lengths.values())) != 1:
            raise ValueError(
                f"{path}: [{section}] lists are translations row for row, but their lengths differ: {lengths}"
            )
    return CalibrationSet(
        in_scope={lang: tuple(data["in_scope"][lang]) for lang in LANGS},
        out_of_scope={lang: tuple(data["out_of_scope"][lang]) for lang in LANGS},
        nonsense=tuple(data["nonsense"]["all"]) + tuple(random_strings()),
    )
