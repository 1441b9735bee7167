"""The default backend: one sealed version folder of a data folder (FAISS + bm25s files),
loaded whole into the process. Embedded, nothing to run; right for the shipped corpus."""

from __future__ import annotations

from functools import partial
from pathlib import Path

from boussole.errors import BoussoleError
from boussole.index import store
from boussole.index.backends.base import Backend, IndexParts, PinnedVersion, ServedVersion
from boussole.index.calibrate import CalibrationVectors
from boussole.index.dense import DenseIndex
from boussole.index.errors import IndexCorrupt
from boussole.index.lexical import LexicalIndex
from boussole.index.scope import ScopeModel
from boussole.ingest.records import RecordsUnreadable, read_chunks, read_documents


class FaissBackend(Backend):
    """The version folder the data folder's pointer `index_dir` names (`data/index`)."""

    def __init__(self, index_dir: Path) -> None:
        self.index_dir = index_dir

    def pin(self) -> PinnedVersion:
        directory = store.resolve(self.index_dir)
        manifest = store.read_manifest(directory)
        return PinnedVersion(manifest, str(directory), partial(open_folder, directory, manifest))

    def served(self) -> ServedVersion:
        directory = store.resolve(self.index_dir)
        try:
            version = store.describe(directory)
        except BoussoleError:
            return ServedVersion(None, None, directory)
        return ServedVersion(version.name, version.built_at, directory)

    @property
    def folder(self) -> Path:
        return self.index_dir

    def served_from(self, version: str) -> str:
        return str(self.index_dir)


def open_folder(index_dir: Path, manifest: store.Manifest | None = None) -> IndexParts:
    """Load and check every part of the version folder `index_dir` against its manifest."""
    manifest = manifest or store.read_manifest(index_dir)
    store.verify_files(index_dir, manifest)
    try:
        chunks = read_chunks(index_dir / store.CHUNKS_FILE)
        documents = read_documents(index_dir / store.DOCUMENTS_FILE)
    except RecordsUnreadable as exc:
        raise IndexCorrupt(str(exc)) from exc
    dense = DenseIndex.load(index_dir / store.DENSE_FILE)
    if dense.dim != manifest.dim:
        raise IndexCorrupt(f"{index_dir}: vectors have dimension {dense.dim}, manifest says {manifest.dim}")
    lexical = LexicalIndex.load(index_dir / store.LEXICAL_DIR)
    second_dense = DenseIndex.load(index_dir / store.USE_FILE)
    calibration = CalibrationVectors.load(index_dir / store.CALIBRATION_FILE, manifest.dim)
    try:
        scope_model = ScopeModel.from_json((index_dir / store.SCOPE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise IndexCorrupt(
            f"{index_dir / store.SCOPE_FILE}: unreadable scope model ({exc}); run `boussole build --force`"
        ) from exc
    return IndexParts(
        version=index_dir.name,
        location=str(index_dir),
        manifest=manifest,
        chunks=chunks,
        documents=documents,
        dense=dense,
        second_dense=second_dense,
        lexical=lexical,
        vectors=dense.vectors(),
        second_vectors=second_dense.vectors(),
        calibration=calibration,
        scope_model=scope_model,
    )
