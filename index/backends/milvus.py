"""The `milvus` backend: one index version per Milvus collection, served behind an alias.

For deployments that outgrow one process: several `boussole serve` replicas point at one
Milvus and all serve the collection the alias names. `publish` copies a sealed version
folder (built as always, so the embedding cache keeps rebuilds incremental) into a new
collection, loads it, then moves the alias to it in one call (`alter_alias`): a replica
opening the alias sees the old version or the new one, never half of one.

Per version, two collections:

* `<alias>_<version>`: one row per chunk; `row` (primary key, the searcher's row number),
  the filter fields `doc`, `kind`, `pillar`, `actor`, `lang` as scalars, the chunk as JSON,
  and the two encoders' vectors (`e5`, `use`) under exact inner-product (FLAT) indexes,
  so the dense legs return what FAISS's flat index returns.
* `<alias>_<version>_meta`: the small artefacts of the version (manifest, documents,
  calibration vectors, scope model) as text pieces, so a replica needs no local files.

The lexical leg stays in-process (bm25s over the chunks read back from Milvus): Milvus's
BM25 function analyses text itself, with no Snowball stemming in milvus-lite and no way to
query the analysed token list pseudo-relevance feedback produces; see the README
("Scaling out") for the measured difference.
"""

from __future__ import annotations

import base64
import io
import json
import logging
import re
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np

from boussole.errors import BoussoleError
from boussole.index import store
from boussole.index.backends.base import Backend, IndexParts, PinnedVersion, PublishReport, Selection, ServedVersion
from boussole.index.calibrate import CalibrationVectors
from boussole.index.errors import IndexCorrupt, IndexNotFound
from boussole.index.filters import FILTER_FIELDS, value_of
from boussole.index.lexical import LexicalIndex
from boussole.index.problems import lexical_texts
from boussole.index.scope import ScopeModel
from boussole.ingest import records

DEFAULT_ALIAS = "boussole"
ENCODER_FIELDS = ("e5", "use")
PIECE_CHARS = 60_000  # under VARCHAR's 65,535 limit
BATCH_ROWS = 1000  # rows per insert / query page (gRPC messages stay well under 64 MB)
TIMEOUT = 30.0  # seconds for one call; an unreachable server fails fast anyway
KEEP_VERSIONS = 2  # the served collection and the previous one (for rollback by hand)
MILVUS_HINT = (
    "needs Boussole's `milvus` extra (pymilvus, milvus-lite): pip install -e '.[milvus]' in the project folder"
)
META_FILES = (store.MANIFEST, store.DOCUMENTS_FILE, store.CALIBRATION_FILE, store.SCOPE_FILE)


class MilvusUnavailable(BoussoleError):
    """Milvus could not be reached, or refused an operation."""


@dataclass(frozen=True)
class MilvusTarget:
    """Where the index lives: a Milvus URI (http://host:19530, or a milvus-lite `.db`
    folder) and the alias replicas open."""

    uri: str
    alias: str = DEFAULT_ALIAS

    def __post_init__(self) -> None:
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]{0,180}", self.alias):
            raise ValueError(f"Milvus alias {self.alias!r}: use letters, digits and underscores")


def connect(target: MilvusTarget):
    """A MilvusClient for `target`, or MilvusUnavailable with the reason in one line.

    Every use of the backend starts here, so here is where a missing `milvus` extra is said.
    """
    try:
        from pymilvus import MilvusClient
        from pymilvus.exceptions import MilvusException
    except ImportError as exc:
        raise MilvusUnavailable(f"the milvus backend {MILVUS_HINT}") from exc

    # pymilvus logs every failed RPC with a traceback; each failure is raised here as one line.
    logging.getLogger("pymilvus").setLevel(logging.CRITICAL)
    try:
        client = MilvusClient(uri=target.uri, timeout=TIMEOUT)
        client.list_aliases()  # a round trip: fails now rather than at the first search
    except MilvusException as exc:
        raise MilvusUnavailable(f"cannot reach Milvus at {target.uri}: {_reason(exc)}") from None
    except Exception as exc:  # noqa: BLE001 - grpc and milvus-lite raise their own types
        raise MilvusUnavailable(f"cannot reach Milvus at {target.uri}: {exc}") from None
    return client


def _reason(exc: Exception) -> str:
    message = getattr(exc, "message", "") or str(exc) or type(exc).__name__
    return message.splitlines()[0][:300]


def _call(what: str, target: MilvusTarget, fn, *args, **kwargs):
    from pymilvus.exceptions import MilvusException

    try:
        return fn(*args, **kwargs)
    except MilvusException as exc:
        raise MilvusUnavailable(f"Milvus at {target.uri}: {what} failed: {_reason(exc)}") from None


def collection_name(target: MilvusTarget, version: str) -> str:
    return f"{target.alias}_{re.sub(r'[^A-Za-z0-9]', '_', version)}"


def served_collection(client, target: MilvusTarget) -> str | None:
    """The collection the alias names now, or None when there is no such alias."""
    if target.alias not in _call("listing aliases", target, client.list_aliases).get("aliases", []):
        return None
    return _call("reading the alias", target, client.describe_alias, target.alias)["collection_name"]


class MilvusBackend(Backend):
    """The collection behind `target`'s alias; a build is published into a new one."""

    def __init__(self, target: MilvusTarget) -> None:
        self.target = target

    def pin(self) -> PinnedVersion:
        """The collection the alias names now, with its version files read: `load` reads its
        rows, from that collection whatever the alias names by then."""
        target = self.target
        client = connect(target)
        name = served_collection(client, target)
        if name is None:
            raise IndexNotFound(
                f"no index behind alias {target.alias!r} at {target.uri}: "
                f"run `boussole build --backend milvus --milvus-uri {target.uri}` first"
            )
        _ensure_loaded(client, target, name)
        files = _read_meta(client, target, f"{name}_meta")
        manifest = _manifest(files[store.MANIFEST], name)
        return PinnedVersion(manifest, f"{target.uri} ({name})", partial(_load, client, target, name, files, manifest))

    def served(self) -> ServedVersion:
        client = connect(self.target)
        try:
            return ServedVersion(served_collection(client, self.target))
        finally:
            client.close()

    def publish(self, version_dir: Path) -> PublishReport:
        return publish(version_dir, self.target)

    def served_from(self, version: str) -> str:
        return f"Milvus {self.target.uri} ({version})"


# -- writing -------------------------------------------------------------------------------


def publish(index_dir: Path, target: MilvusTarget, hnsw: bool = False) -> PublishReport:
    """Copy the sealed version folder `index_dir` into a new collection and point the alias
    at it. A version already served is left as it is; older collections beyond the
    previous one are dropped. `hnsw` trades exactness for speed at millions of rows."""
    from boussole.index.backends.faiss import open_folder

    parts = open_folder(index_dir)
    client = connect(target)
    name = collection_name(target, parts.version)
    previous = served_collection(client, target)
    where = f"milvus: alias {target.alias!r} at {target.uri}"
    if previous == name:
        return PublishReport(where, name, len(parts.chunks), previous, True)
    for stale in (name, f"{name}_meta"):  # leftovers of an interrupted publish of this version
        if _call("listing collections", target, client.has_collection, stale):
            _call("dropping a leftover", target, client.drop_collection, stale)
    _create_rows(client, target, name, parts, hnsw)
    _create_meta(client, target, f"{name}_meta", index_dir)
    if previous is None:
        _call("creating the alias", target, client.create_alias, name, target.alias)
    else:
        _call("switching the alias", target, client.alter_alias, name, target.alias)
    _drop_old(client, target, keep={name, previous})
    return PublishReport(where, name, len(parts.chunks), previous, False)


def _create_rows(client, target: MilvusTarget, name: str, parts: IndexParts, hnsw: bool) -> None:
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("row", DataType.INT64, is_primary=True)
    schema.add_field("chunk_id", DataType.VARCHAR, max_length=1024)
    for field in FILTER_FIELDS:
        schema.add_field(field, DataType.VARCHAR, max_length=256)
    schema.add_field("chunk", DataType.VARCHAR, max_length=65_535)
    schema.add_field("e5", DataType.FLOAT_VECTOR, dim=parts.vectors.shape[1])
    schema.add_field("use", DataType.FLOAT_VECTOR, dim=parts.second_vectors.shape[1])
    index_params = client.prepare_index_params()
    for field in ENCODER_FIELDS:
        if hnsw:
            index_params.add_index(field, index_type="HNSW", metric_type="IP", params={"M": 32, "efConstruction": 200})
        else:
            index_params.add_index(field, index_type="FLAT", metric_type="IP")
    _call("creating the collection", target, client.create_collection, name, schema=schema, index_params=index_params)
    for start in range(0, len(parts.chunks), BATCH_ROWS):
        rows = []
        for row in range(start, min(start + BATCH_ROWS, len(parts.chunks))):
            chunk = parts.chunks[row]
            rows.append(
                {
                    "row": row,
                    "chunk_id": chunk.id,
                    **{f: value_of(chunk, f) for f in FILTER_FIELDS},  # as the searcher's filters read them
                    "chunk": records.chunks_to_text([chunk]),
                    "e5": parts.vectors[row].tolist(),
                    "use": parts.second_vectors[row].tolist(),
                }
            )
        _call("inserting chunks", target, client.insert, name, rows)
    _call("flushing", target, client.flush, name)
    _call("loading the collection", target, client.load_collection, name)


def _create_meta(client, target: MilvusTarget, name: str, index_dir: Path) -> None:
    from pymilvus import DataType

    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("key", DataType.VARCHAR, is_primary=True, max_length=256)
    schema.add_field("data", DataType.VARCHAR, max_length=65_535)
    schema.add_field("pad", DataType.FLOAT_VECTOR, dim=2)  # Milvus wants one vector field per collection
    index_params = client.prepare_index_params()
    index_params.add_index("pad", index_type="FLAT", metric_type="L2")
    _call(
        "creating the meta collection", target, client.create_collection, name, schema=schema, index_params=index_params
    )
    rows = []
    for file in META_FILES:
        text = base64.b64encode((index_dir / file).read_bytes()).decode("ascii")
        pieces = [text[i : i + PIECE_CHARS] for i in range(0, len(text), PIECE_CHARS)] or [""]
        rows += [{"key": f"{file}#{i:06d}", "data": piece, "pad": [0.0, 0.0]} for i, piece in enumerate(pieces)]
    _call("writing the version's files", target, client.insert, name, rows)
    _call("flushing", target, client.flush, name)
    _call("loading the meta collection", target, client.load_collection, name)


def _drop_old(client, target: MilvusTarget, keep: set[str | None]) -> None:
    prefix = f"{target.alias}_"
    names = _call("listing collections", target, client.list_collections)
    for collection in names:
        base = collection.removesuffix("_meta")
        if collection.startswith(prefix) and base not in keep:
            _call("dropping an old version", target, client.drop_collection, collection)


# -- reading -------------------------------------------------------------------------------


def _load(client, target: MilvusTarget, name: str, files: dict[str, bytes], manifest: store.Manifest) -> IndexParts:
    """Everything else the searcher needs from the collection `name`."""
    rows = _read_rows(client, target, name, manifest.chunk_count)
    chunks = [records.chunks_from_text(r["chunk"], f"{name} row {r['row']}")[0] for r in rows]
    vectors = np.asarray([r["e5"] for r in rows], dtype=np.float32).reshape(len(rows), -1)
    second_vectors = np.asarray([r["use"] for r in rows], dtype=np.float32).reshape(len(rows), -1)
    try:
        documents = records.documents_from_text(files[store.DOCUMENTS_FILE].decode("utf-8"), f"{name} documents")
        calibration = CalibrationVectors.load(io.BytesIO(files[store.CALIBRATION_FILE]), manifest.dim)
        scope_model = ScopeModel.from_json(files[store.SCOPE_FILE].decode("utf-8"))
    except (records.RecordsUnreadable, ValueError, TypeError, KeyError) as exc:
        raise IndexCorrupt(
            f"{name}: unreadable version files ({exc}); run `boussole build --backend milvus --force`"
        ) from exc
    return IndexParts(
        version=name,
        location=f"{target.uri} ({name})",
        manifest=manifest,
        chunks=chunks,
        documents=documents,
        dense=MilvusDense(client, target, name, "e5", vectors.shape[1], len(rows)),
        second_dense=MilvusDense(client, target, name, "use", second_vectors.shape[1], len(rows)),
        lexical=LexicalIndex.build(lexical_texts(chunks), [c.lang for c in chunks]),
        vectors=vectors,
        second_vectors=second_vectors,
        calibration=calibration,
        scope_model=scope_model,
    )


def _ensure_loaded(client, target: MilvusTarget, name: str) -> None:
    """A restarted Milvus keeps collections on disk but released from memory: load both of
    the version's collections (a no-op when they are loaded already)."""
    for collection in (name, f"{name}_meta"):
        if _call("listing collections", target, client.has_collection, collection):
            _call("loading the collection", target, client.load_collection, collection)


def _read_meta(client, target: MilvusTarget, name: str) -> dict[str, bytes]:
    if not _call("listing collections", target, client.has_collection, name):
        raise IndexCorrupt(f"{name}: missing (the version's files); run `boussole build --backend milvus --force`")
    found = _call(
        "reading the version's files",
        target,
        client.query,
        name,
        filter='key != ""',
        output_fields=["key", "data"],
        limit=16_384,
    )
    pieces: dict[str, list[tuple[str, str]]] = {}
    for row in found:
        file, _, part = row["key"].partition("#")
        pieces.setdefault(file, []).append((part, row["data"]))
    missing = [f for f in META_FILES if f not in pieces]
    if missing:
        raise IndexCorrupt(f"{name}: {', '.join(missing)} missing; run `boussole build --backend milvus --force`")
    return {f: base64.b64decode("".join(d for _, d in sorted(p))) for f, p in pieces.items()}


def _manifest(data: bytes, name: str) -> store.Manifest:
    return store.parse_manifest(data, Path(name) / store.MANIFEST)


def _read_rows(client, target: MilvusTarget, name: str, count: int) -> list[dict]:
    fields = ["row", "chunk", "e5", "use"]
    iterator = _call(
        "reading chunks",
        target,
        client.query_iterator,
        name,
        batch_size=BATCH_ROWS,
        filter="row >= 0",
        output_fields=fields,
    )
    rows: list[dict] = []
    while True:
        page = _call("reading chunks", target, iterator.next)
        if not page:
            break
        rows.extend(page)
    iterator.close()
    rows.sort(key=lambda r: r["row"])
    if [r["row"] for r in rows] != list(range(count)):
        raise IndexCorrupt(
            f"{name}: {len(rows)} rows, the manifest says {count}; run `boussole build --backend milvus --force`"
        )
    return rows


def filter_expression(allowed: Selection | None) -> str:
    """The filters as a Milvus boolean expression (`doc in ["a"] and lang in ["fr"]`)."""
    if allowed is None:
        return ""
    terms = [
        f"{name} in {json.dumps(list(values), ensure_ascii=False)}"
        for name in FILTER_FIELDS
        if (values := getattr(allowed.filters, name))
    ]
    return " and ".join(terms)


class MilvusDense:
    """One encoder's top-k inner products, answered by Milvus."""

    def __init__(self, client, target: MilvusTarget, collection: str, field: str, dim: int, size: int) -> None:
        self._client = client
        self._target = target
        self._collection = collection
        self._field = field
        self.dim = dim
        self.size = size

    def search(self, query: np.ndarray, k: int, allowed: Selection | None = None) -> list[tuple[int, float]]:
        k = min(k, self.size)
        if k <= 0:
            return []
        found = _call(
            "searching",
            self._target,
            self._client.search,
            self._collection,
            data=[np.asarray(query, dtype=np.float32).ravel().tolist()],
            anns_field=self._field,
            limit=k,
            filter=filter_expression(allowed),
            output_fields=["row"],
            search_params={"metric_type": "IP", "params": {"ef": max(64, k)}},
        )
        return [(int(hit["entity"]["row"]), float(hit["distance"])) for hit in found[0]]
