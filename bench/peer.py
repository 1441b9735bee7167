"""The service a user would build instead of Boussole, for the speed comparison only.

FastAPI + sentence-transformers + FAISS over fixed 1,000-character windows of the same
documents, with the same multilingual-e5-small weights (the folder `boussole build`
writes), encoding in FastAPI's threadpool: the common "RAG in 50 lines" recipe.

    python -m bench.peer --port 8100 [--data-dir data]

POST /v1/search {"query": "...", "k": 10} -> {"results": [{"id", "score", "text"}]}
"""

from __future__ import annotations

import argparse
from pathlib import Path

from pydantic import BaseModel

WINDOW, OVERLAP = 1000, 200


def windows(text: str) -> list[str]:
    step = WINDOW - OVERLAP
    return [text[i : i + WINDOW] for i in range(0, max(1, len(text) - OVERLAP), step)]


class Query(BaseModel):
    query: str
    k: int = 10


def create_app(data_dir: Path, corpus_dir: Path):
    import faiss
    import numpy as np
    import torch
    from fastapi import FastAPI
    from sentence_transformers import SentenceTransformer

    from boussole.index.encoders.cores import default_threads
    from boussole.ingest.pipeline import document_text, ingest_corpus

    # Same thread count as Boussole gets (BOUSSOLE_THREADS, else half the CPUs).
    torch.set_num_threads(default_threads())
    model = SentenceTransformer(str(data_dir / "models" / "multilingual-e5-small"), device="cpu", local_files_only=True)
    report = ingest_corpus(corpus_dir)
    texts = [w for d in report.documents for w in windows(document_text(d, corpus_dir))]
    vectors = model.encode_document(texts, batch_size=16, normalize_embeddings=True, convert_to_numpy=True)
    index = faiss.IndexFlatIP(vectors.shape[1])
    index.add(np.ascontiguousarray(vectors, dtype=np.float32))

    app = FastAPI()

    @app.post("/v1/search")
    def search(body: Query) -> dict:
        vector = model.encode_query([body.query], normalize_embeddings=True, convert_to_numpy=True)
        scores, ids = index.search(np.ascontiguousarray(vector, dtype=np.float32), body.k)
        return {"results": [{"id": int(i), "score": float(s), "text": texts[i]} for i, s in zip(ids[0], scores[0])]}

    @app.get("/healthz")
    def healthz() -> dict:
        return {"status": "ok"}

    return app


def main(argv: list[str] | None = None) -> None:
    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8100)
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--corpus-dir", type=Path, default=Path("corpus"))
    args = parser.parse_args(argv)
    uvicorn.run(create_app(args.data_dir, args.corpus_dir), host="127.0.0.1", port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
