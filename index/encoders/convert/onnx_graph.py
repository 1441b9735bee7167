"""Write the multilingual-e5-small encoder as an ONNX graph with onnx's own graph builder.

The graph is BertModel's forward pass written node by node from the e5 folder's weights
(`model.safetensors`, read as numpy arrays), so that building the ONNX encoder needs
neither torch nor transformers. It computes what `torch.onnx.export` of transformers'
BertModel wrote (the same vectors, bit for bit, for the 894 passages of the corpus), with
the same operations in the same order where the order changes float results:

* embeddings: (word + token type 0) + position, then LayerNorm;
* attention: query and key each scaled by head_dim ** -0.25 before their product (as
  torch's scaled-dot-product decomposition does), padded keys masked by adding the
  lowest float32 before the softmax;
* feed-forward: exact (erf) GELU, x * (1 + erf(x / sqrt 2)) * 0.5;
* residual adds as sublayer output + input, then LayerNorm.

Weights enter as graph initialisers: Gather tables for the three embeddings and transposed
matrices on the right of MatMul, the shape `onnxruntime.quantization.quantize_dynamic`
looks for, so the int8 copy quantises the same tensors as before.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from boussole.index.errors import ModelError

INPUTS = ("input_ids", "attention_mask")
OUTPUT = "last_hidden_state"
# The three tensors' batch and token axes are dynamic, under the names the torch export used.
AXES = ("batch", "tokens")


@dataclass(frozen=True)
class EncoderShape:
    """The hyper-parameters the graph depends on (from the folder's `config.json`)."""

    hidden: int
    layers: int
    heads: int
    layer_norm_eps: float

    @property
    def head_dim(self) -> int:
        return self.hidden // self.heads

    @classmethod
    def from_config(cls, path: Path) -> EncoderShape:
        try:
            config = json.loads(Path(path).read_text(encoding="utf-8"))
            shape = cls(
                hidden=int(config["hidden_size"]),
                layers=int(config["num_hidden_layers"]),
                heads=int(config["num_attention_heads"]),
                layer_norm_eps=float(config["layer_norm_eps"]),
            )
        except (OSError, ValueError, KeyError, TypeError) as e:
            raise ModelError(f"{path}: not a readable BERT config: {e}") from e
        if config.get("model_type") != "bert" or config.get("hidden_act") != "gelu":
            raise ModelError(f"{path}: the ONNX graph writer handles BERT with exact GELU only")
        if shape.hidden % shape.heads:
            raise ModelError(f"{path}: hidden size {shape.hidden} is not a multiple of {shape.heads} heads")
        return shape


def load_weights(folder: Path) -> dict[str, np.ndarray]:
    """The folder's BertModel weights as float32 arrays (a float16 folder is widened, as the
    sentence-transformers model computes in float32)."""
    from safetensors.numpy import load_file

    try:
        weights = load_file(str(Path(folder) / "model.safetensors"))
    except (OSError, ValueError) as e:
        raise ModelError(f"{folder}: cannot read model.safetensors: {e}") from e
    return {name: array.astype(np.float32, copy=False) for name, array in weights.items()}


class _Graph:
    """Collects nodes and initialisers; every name is derived from a readable prefix."""

    def __init__(self) -> None:
        self.nodes: list = []
        self.initialisers: list = []

    def const(self, name: str, value: np.ndarray) -> str:
        from onnx import numpy_helper

        self.initialisers.append(numpy_helper.from_array(np.ascontiguousarray(value), name))
        return name

    def op(self, op_type: str, inputs: list[str], name: str, **attrs) -> str:
        from onnx import helper

        self.nodes.append(helper.make_node(op_type, inputs, [name], name=name, **attrs))
        return name


def _weight(weights: dict[str, np.ndarray], name: str) -> np.ndarray:
    try:
        return weights.pop(name)  # popped: each array is copied into the graph once, then freed
    except KeyError:
        raise ModelError(f"the e5 folder's weights have no {name!r}: not a BertModel checkpoint") from None


def _linear(g: _Graph, weights: dict, x: str, module: str) -> str:
    """x @ W.T + b, W stored transposed as MatMul's constant right operand."""
    w = g.const(f"{module}.weight_t", _weight(weights, f"{module}.weight").T)
    b = g.const(f"{module}.bias", _weight(weights, f"{module}.bias"))
    return g.op("Add", [g.op("MatMul", [x, w], f"{module}/MatMul"), b], f"{module}/Add")


def _layer_norm(g: _Graph, weights: dict, x: str, module: str, eps: float) -> str:
    gamma = g.const(f"{module}.weight", _weight(weights, f"{module}.weight"))
    beta = g.const(f"{module}.bias", _weight(weights, f"{module}.bias"))
    return g.op("LayerNormalization", [x, gamma, beta], f"{module}/LayerNorm", axis=-1, epsilon=eps)


def _attention(g: _Graph, weights: dict, x: str, mask_bias: str, prefix: str, shape: EncoderShape) -> str:
    heads = g.const(f"{prefix}.split_heads", np.array([0, 0, shape.heads, shape.head_dim], np.int64))
    merged = g.const(f"{prefix}.merge_heads", np.array([0, 0, shape.hidden], np.int64))
    # torch's scaled-dot-product decomposition scales q and k by sqrt(1/sqrt(d)) each.
    scale = g.const(f"{prefix}.scale", np.array(math.sqrt(1 / math.sqrt(shape.head_dim)), np.float32))

    def split(name: str, perm: list[int]) -> str:
        projected = _linear(g, weights, x, f"{prefix}.self.{name}")
        return g.op("Transpose", [g.op("Reshape", [projected, heads], f"{prefix}/{name}/Reshape")],
                    f"{prefix}/{name}/Transpose", perm=perm)  # fmt: skip

    q = g.op("Mul", [split("query", [0, 2, 1, 3]), scale], f"{prefix}/query/Scale")  # (b, h, t, d)
    k = g.op("Mul", [split("key", [0, 2, 3, 1]), scale], f"{prefix}/key/Scale")  # (b, h, d, t)
    v = split("value", [0, 2, 1, 3])
    scores = g.op("Add", [g.op("MatMul", [q, k], f"{prefix}/Scores"), mask_bias], f"{prefix}/Masked")
    probs = g.op("Softmax", [scores], f"{prefix}/Softmax", axis=-1)
    context = g.op("Transpose", [g.op("MatMul", [probs, v], f"{prefix}/Context")], f"{prefix}/Context/Transpose",
                   perm=[0, 2, 1, 3])  # fmt: skip
    context = g.op("Reshape", [context, merged], f"{prefix}/Context/Reshape")
    out = _linear(g, weights, context, f"{prefix}.output.dense")
    residual = g.op("Add", [out, x], f"{prefix}/output/Residual")
    return _layer_norm(g, weights, residual, f"{prefix}.output.LayerNorm", shape.layer_norm_eps)


def _feed_forward(g: _Graph, weights: dict, x: str, prefix: str, shape: EncoderShape) -> str:
    h = _linear(g, weights, x, f"{prefix}.intermediate.dense")
    root2 = g.const(f"{prefix}.gelu.sqrt2", np.array(math.sqrt(2), np.float32))
    one = g.const(f"{prefix}.gelu.one", np.array(1, np.float32))
    half = g.const(f"{prefix}.gelu.half", np.array(0.5, np.float32))
    erf = g.op("Erf", [g.op("Div", [h, root2], f"{prefix}/gelu/Div")], f"{prefix}/gelu/Erf")
    gated = g.op("Mul", [h, g.op("Add", [erf, one], f"{prefix}/gelu/Add")], f"{prefix}/gelu/Mul")
    gelu = g.op("Mul", [gated, half], f"{prefix}/gelu/Half")
    out = _linear(g, weights, gelu, f"{prefix}.output.dense")
    residual = g.op("Add", [out, x], f"{prefix}/output/Residual")
    return _layer_norm(g, weights, residual, f"{prefix}.output.LayerNorm", shape.layer_norm_eps)


def encoder_model(weights: dict[str, np.ndarray], shape: EncoderShape, opset: int):
    """The ModelProto of BertModel's encoder, (input_ids, attention_mask) -> last_hidden_state.

    Consumes `weights` (each array is removed once copied into the graph); ModelError when
    a weight is missing or one is left over (not the layout this graph writes).
    """
    from onnx import TensorProto, helper

    g = _Graph()
    ids, mask = INPUTS
    word_table = g.const("embeddings.word_embeddings.weight", _weight(weights, "embeddings.word_embeddings.weight"))
    type_table = g.const("embeddings.token_type_embeddings.weight",
                         _weight(weights, "embeddings.token_type_embeddings.weight"))  # fmt: skip
    positions = _weight(weights, "embeddings.position_embeddings.weight")
    all_positions = g.const("embeddings.position_ids", np.arange(positions.shape[0], dtype=np.int64))
    position_table = g.const("embeddings.position_embeddings.weight", positions)

    word = g.op("Gather", [word_table, ids], "embeddings/word")
    # Every token has type 0: one row, broadcast over the batch and the tokens.
    token_type = g.op("Gather", [type_table, g.const("embeddings.type_id", np.array(0, np.int64))], "embeddings/type")
    tokens = g.op("Shape", [ids], "embeddings/tokens", start=1, end=2)
    first = g.const("embeddings.first", np.array([0], np.int64))
    position_ids = g.op("Slice", [all_positions, first, tokens], "embeddings/position_ids")
    position = g.op("Gather", [position_table, position_ids], "embeddings/position")
    summed = g.op("Add", [g.op("Add", [word, token_type], "embeddings/word_type"), position], "embeddings/sum")
    x = _layer_norm(g, weights, summed, "embeddings.LayerNorm", shape.layer_norm_eps)

    # (batch, 1, 1, tokens): 0 on real tokens, the lowest float32 on padding, added to the scores.
    axes = g.const("mask.axes", np.array([1, 2], np.int64))
    keep = g.op("Cast", [g.op("Unsqueeze", [mask, axes], "mask/Unsqueeze")], "mask/Bool", to=TensorProto.BOOL)
    zero = g.const("mask.keep", np.array(0, np.float32))
    lowest = g.const("mask.drop", np.array(np.finfo(np.float32).min, np.float32))
    mask_bias = g.op("Where", [keep, zero, lowest], "mask/Bias")

    for i in range(shape.layers):
        prefix = f"encoder.layer.{i}"
        x = _attention(g, weights, x, mask_bias, f"{prefix}.attention", shape)
        x = _feed_forward(g, weights, x, prefix, shape)
    if weights:
        raise ModelError(f"the e5 folder has weights this graph does not use: {sorted(weights)[:5]}")
    g.nodes.append(helper.make_node("Identity", [x], [OUTPUT], name=OUTPUT))

    def io(name: str, elem: int, *extra: int):
        return helper.make_tensor_value_info(name, elem, [*AXES, *extra])

    graph = helper.make_graph(
        g.nodes, "multilingual-e5-small", [io(ids, TensorProto.INT64), io(mask, TensorProto.INT64)],
        [io(OUTPUT, TensorProto.FLOAT, shape.hidden)], initializer=g.initialisers,
    )  # fmt: skip
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)], producer_name="boussole")
    # IR 8 (opset 17's), as the torch export wrote: onnx's default follows its own release
    # and can be newer than an older onnxruntime reads.
    model.ir_version = 8
    return model


def write_encoder(folder: Path, path: Path, opset: int) -> None:
    """Write the encoder of the e5 folder `folder` as ONNX at `path`, checked by onnx.checker."""
    import onnx

    shape = EncoderShape.from_config(Path(folder) / "config.json")
    model = encoder_model(load_weights(folder), shape, opset)
    onnx.save_model(model, str(path))
    del model  # the checker reads the file: one copy of the weights in memory, not two
    onnx.checker.check_model(str(path))
