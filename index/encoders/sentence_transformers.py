"""An Encoder over a sentence-transformers model folder (the `torch` encoder), and the
fingerprint of such a folder, which every encoder of the same weights reports.

torch and sentence-transformers are imported when a model is loaded, not with this
module, so that importing it (and `boussole --help`) stays instant.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from boussole.index.encoders.convert.e5_build import read_marker
from boussole.index.encoders.cores import default_threads
from boussole.index.errors import ModelError

# Measured on 2 (shared) cores with ~200-token passages: 16 and 32 within noise of each
# other, 8 slower; 16 holds less padding and activation memory. ST sorts texts by length.
DEFAULT_BATCH_SIZE = 16
_WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".onnx")
ST_HINT = "needs Boussole's `st` extra (sentence-transformers, torch): pip install -e '.[st]' in the project folder"


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
        if "adapter" in marker:  # the default model: the base build plus a merged adapter
            key["adapter_sha256"] = marker["adapter"].get("sha256")
            key["merge_version"] = marker.get("merge_version")
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


class SentenceTransformerEncoder:
    """An Encoder over a sentence-transformers model folder.

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

    @property
    def max_seq_length(self) -> int:
        return int(self._model.max_seq_length)  # type: ignore[arg-type]  # set (512) for every model loaded here

    def _encode(self, texts: list[str], method) -> np.ndarray:
        if isinstance(texts, str):
            raise TypeError("pass a list of strings, not a string")
        if not texts:
            return np.zeros((0, self.dim), np.float32)
        out = method(
            list(texts),
            batch_size=self.batch_size,
            show_progress_bar=False,  # the caller reports progress (index.builder.embed_chunks)
            convert_to_numpy=True,
            normalize_embeddings=True,
        )
        return np.ascontiguousarray(out, dtype=np.float32)

    def embed_queries(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._model.encode_query)

    def embed_documents(self, texts: list[str]) -> np.ndarray:
        return self._encode(texts, self._model.encode_document)

    def close(self) -> None:
        """Nothing to stop: torch runs in the callers' threads."""
