"""Chunks → index directory: embed (with cache), build FAISS and BM25, seal with a manifest."""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from boussole.index import store
from boussole.index.cache import EmbeddingCache, passage_key
from boussole.index.calibrate import CALIBRATION_METHOD, calibrate, embed_calibration_questions
from boussole.index.calibration import load_calibration
from boussole.index.centring import centre
from boussole.index.config import DEFAULT_FUSION, FusionConfig
from boussole.index.dense import DenseIndex
from boussole.index.encoders.base import Encoder, passage_precision
from boussole.index.lexical import LexicalIndex
from boussole.index.problems import (
    ItemProblems,
    embed_statements,
    lexical_texts,
    load_item_problems,
    with_item_problems,
)
from boussole.index.progress import PROGRESS_SLICE, Counted, Progress
from boussole.index.text import embedding_text, second_encoder_text
from boussole.ingest import records
from boussole.ingest.models import Chunk, Document


@dataclass(frozen=True)
class BuildReport:
    manifest: store.Manifest
    embedded: int  # chunks embedded in this build
    reused: int  # chunks whose vectors came from the cache
    seconds: float


def corpus_hash(
    chunks: Sequence[Chunk],
    documents: Sequence[Document],
    fusion: FusionConfig = DEFAULT_FUSION,
    problems: ItemProblems | None = None,
) -> str:
    """Identifies what the index holds: chunks, documents, the texts the indexes see (so a
    change in how a chunk is presented to the model also makes the index stale), the
    calibration set and method, the item problems, and the fusion configuration recorded with it.
    `problems`: the item problems a build already read (None: read index/item_problems.toml)."""
    digest = hashlib.sha256()
    digest.update(json.dumps(fusion.to_dict(), sort_keys=True).encode())
    digest.update(f"calibration method {CALIBRATION_METHOD}".encode())
    problems = problems if problems is not None else load_item_problems()
    digest.update(problems.identity().encode())
    for text in load_calibration().texts():
        digest.update(text.encode())
    for document in documents:
        digest.update(json.dumps(document.to_dict(), sort_keys=True, ensure_ascii=False).encode())
    for chunk, lexical in zip(chunks, lexical_texts(chunks, problems)):
        digest.update(json.dumps(chunk.to_dict(), sort_keys=True, ensure_ascii=False).encode())
        digest.update(embedding_text(chunk).encode())
        digest.update(lexical.encode())
        digest.update(second_encoder_text(chunk).encode())
    return digest.hexdigest()


def is_fresh(
    index_dir: Path,
    chunks: Sequence[Chunk],
    documents: Sequence[Document],
    fingerprint: str,
    fusion: FusionConfig = DEFAULT_FUSION,
    passages: str = "fp32",
    problems: ItemProblems | None = None,
) -> bool:
    """True when the index was built from exactly these chunks with exactly this model, its
    passages in this precision (`passages`), this second encoder, this fusion configuration
    and these item problems (`problems`; None: the shipped files)."""
    try:
        manifest = store.read_manifest(index_dir)
        store.verify_files(index_dir, manifest)
    except Exception:  # noqa: BLE001 - any unreadable index is simply not fresh
        return False
    from boussole.index.encoders.use import use_fingerprint

    return (
        manifest.corpus_hash == corpus_hash(chunks, documents, fusion, problems)
        and manifest.model_fingerprint == fingerprint
        and manifest.passage_precision == passages
        and manifest.second_encoder.get("fingerprint") == use_fingerprint()
    )


def embed_chunks(
    chunks: Sequence[Chunk],
    embedder: Encoder,
    cache: EmbeddingCache,
    progress: Progress | None = None,
    text_of: Callable[[Chunk], str] = embedding_text,
) -> tuple[np.ndarray, int]:
    """Vectors for the chunks, in order; returns (vectors, how many were embedded now).

    With `progress`, the missing passages are embedded PROGRESS_SLICE at a time, with a
    Counted message after each slice (without it, in one call)."""
    texts = [text_of(c) for c in chunks]
    precision = passage_precision(embedder)
    keys = [passage_key(t, precision) for t in texts]
    missing = [i for i, key in enumerate(keys) if cache.get(key) is None]
    if missing:
        if progress:
            progress(
                f"embedding {len(missing)} chunks with {embedder.model_id} ({len(chunks) - len(missing)} from cache)"
            )
        step = PROGRESS_SLICE if progress else len(missing)
        for start in range(0, len(missing), step):
            part = missing[start : start + step]
            for i, vector in zip(part, embedder.embed_documents([texts[i] for i in part])):
                cache.put(keys[i], np.asarray(vector, dtype=np.float32))
            if progress:
                progress(Counted(f"{embedder.model_id} passages", start + len(part), len(missing)))
    # every key is cached by now: cache.get returns no None here
    vectors = (
        np.stack([cache.get(key) for key in keys]).astype(np.float32)  # type: ignore[misc]
        if keys
        else np.zeros((0, embedder.dim), np.float32)
    )
    return vectors, len(missing)


def build_index(
    chunks: Sequence[Chunk],
    documents: Sequence[Document],
    embedder: Encoder,
    index_dir: Path,
    cache_dir: Path | None = None,
    progress: Progress | None = None,
    second: Encoder | None = None,
    fusion: FusionConfig = DEFAULT_FUSION,
    locked: bool = False,
    problems: ItemProblems | None = None,
) -> BuildReport:
    """Embed (both encoders, with cache), calibrate, build FAISS and BM25, and swap the new
    index version in (see index.store for the layout).

    `second` is the second encoder (encoders.factory.load_second_encoder by default). Takes the
    data folder's build lock unless the caller already holds it (`locked`), so two builds
    never interleave; leftovers of killed builds are removed first. `problems`: the item
    problems to build with (None: the shipped files; eval.folds builds with some judged
    problems left out).
    """
    if not chunks:
        raise ValueError("no chunks to index: ingest the corpus first")
    with nullcontext() if locked else store.build_lock(index_dir):
        store.recover(index_dir)
        store.clean(index_dir)
        return _build_locked(chunks, documents, embedder, index_dir, cache_dir, progress, second, fusion, problems)


def _build_locked(
    chunks: Sequence[Chunk],
    documents: Sequence[Document],
    embedder: Encoder,
    index_dir: Path,
    cache_dir: Path | None,
    progress: Progress | None,
    second: Encoder | None,
    fusion: FusionConfig,
    problems: ItemProblems | None = None,
) -> BuildReport:
    started = time.perf_counter()
    if second is None:
        from boussole.index.encoders.factory import load_second_encoder

        second = load_second_encoder()
    cache = EmbeddingCache.for_model(cache_dir, embedder.fingerprint)
    second_cache = EmbeddingCache.for_model(cache_dir, second.fingerprint)
    calibration_set = load_calibration()
    problems = problems if problems is not None else load_item_problems()
    # The e5 passages are most of a build (about 30 s of one core for the shipped corpus):
    # they run in a thread of their own (on every core: OnnxEncoder.document_workers)
    # while this one does everything that does not need them. The two threads touch
    # different cache keys (passages; questions under their own prefix).
    with ThreadPoolExecutor(1, thread_name_prefix="boussole-build") as pool:
        e5_passages = pool.submit(embed_chunks, chunks, embedder, cache, progress)
        second_vectors, _ = embed_chunks(chunks, second, second_cache, progress, text_of=second_encoder_text)
        embed_calibration_questions(calibration_set, embedder, second, cache, second_cache)
        if progress:
            progress(
                f"encoding {len(problems.texts())} item-problem statements (index/item_problems.toml, judged_problems.toml)"
            )
        embed_statements(problems, embedder, second, cache, second_cache)
        lexical = LexicalIndex.build(lexical_texts(chunks, problems), [c.lang for c in chunks])
        # The scope model's fit imports scikit-learn (about a second): done now, not after.
        import sklearn.linear_model  # noqa: F401

        vectors, embedded = e5_passages.result()
    if progress:
        progress("calibrating (index/calibration.toml), building FAISS and BM25 indexes")
    calibration, scope_model = calibrate(
        calibration_set, embedder, second, vectors, second_vectors, cache, second_cache
    )
    calibration = with_item_problems(
        calibration, chunks, problems, embedder, second, cache, second_cache, fusion.centre
    )
    cache.save(keep=cache.used_keys())
    second_cache.save(keep=second_cache.used_keys())
    dense_vectors = centre(vectors, calibration.passage_mean) if fusion.centre else vectors
    staging = store.staging_dir(index_dir)
    try:
        DenseIndex.build(dense_vectors).save(staging / store.DENSE_FILE)
        DenseIndex.build(second_vectors).save(staging / store.USE_FILE)
        (staging / store.CALIBRATION_FILE).write_bytes(calibration.to_bytes())
        (staging / store.SCOPE_FILE).write_text(scope_model.to_json(), encoding="utf-8")
        lexical.save(staging / store.LEXICAL_DIR)
        records.write_chunks(staging / store.CHUNKS_FILE, chunks)
        records.write_documents(staging / store.DOCUMENTS_FILE, documents)
        manifest = new_manifest(
            chunks,
            documents,
            embedder,
            second,
            int(vectors.shape[1]),
            fusion,
            round(time.perf_counter() - started, 3),
            problems,
        )
        manifest = store.commit(staging, index_dir, manifest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    store.clean(index_dir)
    return BuildReport(manifest, embedded, len(chunks) - embedded, time.perf_counter() - started)


def new_manifest(
    chunks: Sequence[Chunk],
    documents: Sequence[Document],
    embedder: Encoder,
    second: Encoder,
    dim: int,
    fusion: FusionConfig,
    build_seconds: float,
    problems: ItemProblems | None = None,
) -> store.Manifest:
    """What a fresh build records, whichever backend stores it (`problems`: see corpus_hash)."""
    return store.Manifest(
        schema_version=store.SCHEMA_VERSION,
        model_id=embedder.model_id,
        model_fingerprint=embedder.fingerprint,
        passage_precision=passage_precision(embedder),
        dim=dim,
        corpus_hash=corpus_hash(chunks, documents, fusion, problems),
        chunk_count=len(chunks),
        built_at=datetime.now(UTC).isoformat(timespec="seconds"),
        build_seconds=build_seconds,
        libraries=store.library_versions(),
        second_encoder={"model_id": second.model_id, "fingerprint": second.fingerprint},
        fusion=fusion.to_dict(),
    )
