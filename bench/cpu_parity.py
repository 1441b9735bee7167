"""Does this CPU compute the same query vectors as another? Figures, not assertions.

    python -m bench.cpu_parity --save here.npy                  # on one machine (or CPU model)
    qemu-x86_64 -cpu Haswell .venv/bin/python -m bench.cpu_parity --save avx2.npy
    python -m bench.cpu_parity --compare here.npy avx2.npy      # cosine and largest difference

Encodes the first --count in-scope questions of index/calibration.toml with the int8 ONNX
file (one question per forward pass, as a server does) and saves the vectors. Run under
`qemu-x86_64 -cpu Haswell` (Debian's qemu-user), the same code takes an AVX2 CPU's
kernels without VNNI, so one machine can compare the two kinds of CPU (docs/evaluation.md,
"Int8 weights in 7 bits").
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np


def encode(onnx_dir: Path, count: int) -> np.ndarray:
    from boussole.index.calibration import load_calibration
    from boussole.index.encoders.onnx import OnnxEncoder

    questions = load_calibration().in_scope_all[:count]
    encoder = OnnxEncoder(onnx_dir, model_id="cpu-parity", precision="int8", document_workers=1)
    return np.vstack([encoder.embed_queries([q]) for q in questions])


def compare(a: np.ndarray, b: np.ndarray) -> str:
    if a.shape != b.shape:
        return f"different shapes: {a.shape} and {b.shape}"
    cos = (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    return (
        f"{len(a)} questions: cosine mean {cos.mean():.6f}, lowest {cos.min():.6f}; "
        f"{int((cos < 0.99999).sum())} below 0.99999; largest difference {np.abs(a - b).max():.2e}"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--onnx-dir",
        type=Path,
        default=Path("data/models/multilingual-e5-small-problems.onnx"),
        help="the ONNX export `boussole build` wrote (default: the default model's)",
    )
    parser.add_argument("--count", type=int, default=40, help="questions to encode (default 40)")
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--save", type=Path, metavar="FILE.npy")
    action.add_argument("--compare", type=Path, nargs=2, metavar="FILE.npy")
    args = parser.parse_args(argv)
    if args.compare:
        print(compare(np.load(args.compare[0]), np.load(args.compare[1])))
        return
    if not (args.onnx_dir / "model-int8.onnx").is_file():
        parser.error(f"{args.onnx_dir} holds no model-int8.onnx: run `boussole build` first, or pass --onnx-dir")
    np.save(args.save, encode(args.onnx_dir, args.count))
    print(f"saved {args.count} vectors to {args.save}")


if __name__ == "__main__":
    main()
