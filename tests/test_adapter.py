"""The default model: e5-small with the shipped item-problem adapter merged in
(index.encoders.convert.adapter), built offline and refused when anything does not fit."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from safetensors.numpy import save_file

from boussole.index.encoders.convert.adapter import (
    ADAPTER_FILE,
    TUNED_ID,
    Adapter,
    build_tuned,
    is_current,
    merge,
    read_adapter,
)
from boussole.index.errors import ModelError


def test_merging_adds_the_scaled_low_rank_product_and_touches_nothing_else():
    rng = np.random.default_rng(0)
    weights = {"a.weight": rng.normal(size=(4, 3)).astype(np.float32), "b.bias": np.ones(4, np.float32)}
    a, b = rng.normal(size=(2, 3)), rng.normal(size=(4, 2))
    merged = merge(weights, Adapter({"a.weight": (a, b)}, scale=2.0, metadata={}, sha256=""))
    by_hand = [
        [weights["a.weight"][i, j] + 2.0 * sum(b[i, k] * a[k, j] for k in range(2)) for j in range(3)] for i in range(4)
    ]
    np.testing.assert_allclose(merged["a.weight"], by_hand, rtol=1e-5)
    assert merged["b.bias"] is weights["b.bias"]
    assert not np.allclose(merged["a.weight"], weights["a.weight"])  # the input is left as it was


def test_an_adapter_that_does_not_fit_the_model_is_refused():
    weights = {"a.weight": np.zeros((4, 3), np.float32)}
    wrong_shape = Adapter({"a.weight": (np.zeros((2, 5)), np.zeros((4, 2)))}, scale=1.0, metadata={}, sha256="")
    with pytest.raises(ModelError, match="do not fit"):
        merge(weights, wrong_shape)
    unknown = Adapter({"z.weight": (np.zeros((2, 3)), np.zeros((4, 2)))}, scale=1.0, metadata={}, sha256="")
    with pytest.raises(ModelError, match="does not have"):
        merge(weights, unknown)


def test_the_shipped_adapter_updates_every_linear_layer_of_the_encoder_and_says_what_it_learnt_from():
    adapter = read_adapter()
    assert len(adapter.factors) == 12 * 6  # 12 layers × (query, key, value, attention out, intermediate, out)
    rank = int(adapter.metadata["rank"])
    for name, (a, b) in adapter.factors.items():
        assert name.startswith("encoder.layer.") and name.endswith(".weight")
        assert a.shape[0] == b.shape[1] == rank
    assert "item_problems.toml" in adapter.metadata["trained_on"]
    assert ADAPTER_FILE.stat().st_size < 4_000_000  # shipped in the package: kept small


def test_a_broken_adapter_file_is_a_clear_error(tmp_path):
    broken = tmp_path / "broken.safetensors"
    broken.write_bytes(ADAPTER_FILE.read_bytes()[:1000])
    with pytest.raises(ModelError, match="cannot read the encoder adapter"):
        read_adapter(broken)
    half = tmp_path / "half.safetensors"
    save_file({"x.weight.lora_A": np.zeros((2, 2), np.float16)}, str(half), metadata={"scale": "1"})
    with pytest.raises(ModelError, match="no B factor"):
        read_adapter(half)


def test_the_merged_folder_is_built_once_and_rebuilt_when_the_adapter_changes(e5_model_dir, tmp_path):
    base = e5_model_dir
    dest = tmp_path / TUNED_ID
    built = build_tuned(base, dest)
    marker = json.loads((built / "boussole_model.json").read_text())
    assert marker["model_id"] == TUNED_ID and marker["adapter"]["sha256"] == read_adapter().sha256
    assert is_current(dest, base)
    mtime = (dest / "model.safetensors").stat().st_mtime_ns
    assert build_tuned(base, dest) == dest and (dest / "model.safetensors").stat().st_mtime_ns == mtime

    other = tmp_path / "other.safetensors"
    adapter = read_adapter()
    halved = {}
    for name, (a, b) in adapter.factors.items():
        halved[name + ".lora_A"], halved[name + ".lora_B"] = a, b / 2
    save_file(halved, str(other), metadata={**adapter.metadata})
    assert not is_current(dest, base, other)
    build_tuned(base, dest, adapter_path=other)
    assert is_current(dest, base, other) and not is_current(dest, base)
    assert not list(tmp_path.glob(f".{TUNED_ID}.partial-*"))


def test_a_folder_boussole_did_not_write_is_not_overwritten(e5_model_dir, tmp_path):
    dest = tmp_path / TUNED_ID
    dest.mkdir()
    (dest / "mine.txt").write_text("keep me")
    with pytest.raises(ModelError, match="not built by Boussole"):
        build_tuned(e5_model_dir, dest)
    assert (dest / "mine.txt").read_text() == "keep me"
    not_ours = tmp_path / "plain"
    shutil.copytree(e5_model_dir, not_ours, ignore=shutil.ignore_patterns("model.safetensors", "boussole_model.json"))
    with pytest.raises(ModelError, match="not a model folder built by Boussole"):
        build_tuned(not_ours, tmp_path / "x")
