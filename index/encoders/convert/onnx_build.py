"""Export the locally built multilingual-e5-small to ONNX, fp32 and per-channel int8.

ONNX Runtime encodes a query in about a fifth of the time torch takes on this project's
2-core machines (measured: torch fp32 37.7 ms, ONNX Runtime fp32 16.5 ms, int8 7.6 ms).
The folder written here, beside the sentence-transformers folder built by `e5_build`:

* `model.onnx`: the BERT encoder, `(input_ids, attention_mask) -> last_hidden_state`;
* `model-int8.onnx`: the same with dynamically quantised int8 weights, **per channel**
  (per-tensor scales lose too much: cosine to fp32 down to 0.974 on some texts, against
  0.995 per channel);
* `tokenizer.json`, copied, so that query time needs neither torch nor transformers;
* `boussole_onnx.json`: the marker: which e5 folder (fingerprint) it was exported from.

Pooling (mean over the attention mask) and L2 normalisation stay outside the graph, in
`index.onnx_embedder`, as in the sentence-transformers model. The graph is written by
`index.onnx_graph` from the folder's weights with onnx's own graph builder: building needs
onnx, onnxruntime and safetensors, not torch nor transformers (it replaced a
`torch.onnx.export` of BertModel, whose vectors it gives bit for bit on the corpus).
It runs once, at `boussole build`, like the e5 build itself.
Writes are atomic: the folder is written beside its destination and renamed into place.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from boussole.index.encoders.convert.onnx_graph import write_encoder
from boussole.index.errors import ModelError

MARKER_FILE = "boussole_onnx.json"
FP32_FILE = "model.onnx"
INT8_FILE = "model-int8.onnx"
# Bump when the files written here change: older folders are then rebuilt.
# 2: the graph is written by index.onnx_graph (1: torch.onnx.export).
# 3: int8 weights in 7 bits (reduce_range): CPUs with and without VNNI agree (_quantise).
EXPORT_VERSION = 3
# What the int8 file's passages are called in the index manifest and the embedding cache:
# a new quantisation gets a new name, so passages written by an older int8 file are stale.
INT8_PASSAGES = "int8-7bit"
OPSET = 17
SUFFIX = ".onnx"  # the folder is "<e5 folder name>.onnx" beside the e5 folder


def onnx_folder(e5_folder: Path) -> Path:
    e5_folder = Path(e5_folder)
    return e5_folder.with_name(e5_folder.name + SUFFIX)


def read_marker(folder: Path) -> dict | None:
    try:
        return json.loads((Path(folder) / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def is_current(folder: Path, source_fingerprint: str) -> bool:
    """True when `folder` holds an export of the e5 folder with this fingerprint."""
    marker = read_marker(folder)
    return (
        marker is not None
        and marker.get("source_fingerprint") == source_fingerprint
        and marker.get("export_version") == EXPORT_VERSION
        and all((Path(folder) / name).is_file() for name in (FP32_FILE, INT8_FILE, "tokenizer.json"))
    )


def _quantise(out: Path) -> None:
    # Importing onnxruntime.quantization calls logging.basicConfig(level=INFO) (in
    # matmul_nbits_quantizer), which would turn every library's debug chatter on: undo it.
    root = logging.getLogger()
    saved = (root.level, list(root.handlers))
    try:
        from onnxruntime.quantization import QuantType, quantize_dynamic

        root.setLevel(logging.ERROR)  # the quantiser suggests pre-processing on every call
        # 7-bit weights (reduce_range): without VNNI, x86 CPUs multiply uint8 activations
        # by int8 weights a pair at a time into int16, which can saturate with full-range
        # weights (onnxruntime's quantisation notes), while VNNI CPUs sum exactly: the same
        # code ranked differently on two machines (a French question's hsp-ha-2-14:77.f in
        # the first ten on one, 13th on a VNNI one, 2026-12-07). With weights in [-64, 64]
        # no pair overflows. `python -m bench.cpu_parity`, natively on the VNNI CPU and
        # under `qemu-x86_64 -cpu Haswell` (AVX2, no VNNI), 40 calibration questions: 37
        # identical vectors and the lowest cosine 0.994 (float rounding elsewhere in the
        # graph), against 40 different, mean cosine 0.984, with 8-bit weights. Cosine to
        # float32 on the VNNI CPU, 206 questions: 0.983 against 0.989 with 8 bits; uint8
        # weights (exact everywhere too) cost 40 % more time per query there.
        quantize_dynamic(
            str(out / FP32_FILE),
            str(out / INT8_FILE),
            weight_type=QuantType.QInt8,
            per_channel=True,
            reduce_range=True,
        )
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]


def build_onnx(
    e5_folder: Path,
    source_fingerprint: str,
    *,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Export `e5_folder` to ONNX (fp32 and int8) once, beside it; return the ONNX folder.

    Idempotent (a folder exported from the same fingerprint is returned untouched) and
    atomic (written in a temporary folder, then renamed into place).
    """
    say = progress or (lambda _msg: None)
    e5_folder = Path(e5_folder)
    dest = onnx_folder(e5_folder)
    if is_current(dest, source_fingerprint):
        return dest
    if dest.exists() and read_marker(dest) is None:
        raise ModelError(f"{dest} exists but was not built by Boussole (no {MARKER_FILE}): move it away")
    marker_src = json.loads((e5_folder / "boussole_model.json").read_text(encoding="utf-8")) \
        if (e5_folder / "boussole_model.json").is_file() else {}  # fmt: skip
    max_length = int(marker_src.get("max_seq_length", 512))

    t0 = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.partial-{os.getpid()}-", dir=dest.parent))
    try:
        say("ONNX: writing the encoder graph (fp32)")
        write_encoder(e5_folder, tmp / FP32_FILE, OPSET)
        say("ONNX: quantising weights to int8 (per channel, 7 bits)")
        _quantise(tmp)
        shutil.copy2(e5_folder / "tokenizer.json", tmp / "tokenizer.json")
        config = json.loads((e5_folder / "tokenizer_config.json").read_text(encoding="utf-8"))
        (tmp / MARKER_FILE).write_text(
            json.dumps(
                {
                    "source_fingerprint": source_fingerprint,
                    "export_version": EXPORT_VERSION,
                    "opset": OPSET,
                    "graph": "index.onnx_graph (onnx.helper), from the folder's model.safetensors",
                    "max_length": max_length,
                    "pad_token": config.get("pad_token", "<pad>"),
                    "dim": int(marker_src.get("dim", 0)) or None,
                    "prompts": marker_src.get("prompts", {"query": "query: ", "document": "passage: "}),
                    "quantisation": "dynamic int8, per channel, 7-bit weights (onnxruntime.quantization.quantize_dynamic)",
                },
                indent=2,
            )
            + "\n",
            encoding="utf-8",
        )
        umask = os.umask(0)
        os.umask(umask)
        for p in [tmp, *tmp.rglob("*")]:
            p.chmod((0o777 if p.is_dir() else 0o666) & ~umask)
        if dest.exists():
            old = tmp.with_name(tmp.name + "-old")
            os.replace(dest, old)
            os.replace(tmp, dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(tmp, dest)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    say(f"built {dest} in {time.perf_counter() - t0:.1f}s")
    return dest
