"""Can the lexical leg move into Milvus? Its BM25 function against the in-process leg.

Builds a throw-away milvus-lite collection whose `text` field is what the in-process BM25
indexes (index.text.lexical_text), analysed by Milvus (standard tokenizer, lowercase, the
Snowball stemmer of the chunk language as Milvus's analyzer parameters spell it), plugs it
in as the searcher's lexical leg (feedback terms are sent as text: Milvus re-analyses
them), and scores both legs on the judged benchmark with the eval harness.

    .venv/bin/python -m bench.milvus_bm25            # uses the index in ./data

Prints nDCG@10 of `bm25` and `hybrid` with each lexical leg, and how Milvus analysed a few
inflected words, so the README can say why the leg stays in-process.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

import numpy as np

from boussole.eval.benchmark import load_benchmark
from boussole.eval.report import evaluate
from boussole.eval.runs import QueryVectorCache, run_systems
from boussole.index import store
from boussole.index.backends.base import Selection
from boussole.index.backends.faiss import open_folder
from boussole.index.encoders.factory import load_encoder
from boussole.index.searcher import Searcher
from boussole.index.text import lexical_text

ANALYZER = {"tokenizer": "standard", "filter": ["lowercase", {"type": "stemmer", "language": "french"}]}


class MilvusLexical:
    """The lexical leg answered by Milvus's BM25 function over a sparse field."""

    def __init__(self, client, collection: str, size: int) -> None:
        self._client, self._collection, self.size = client, collection, size

    def search(self, query: str, lang: str, k: int, allowed: Selection | None = None) -> list[tuple[int, float]]:
        from boussole.index.backends.milvus import filter_expression

        found = self._client.search(
            self._collection,
            data=[query],
            anns_field="sparse",
            limit=min(k, self.size),
            filter=filter_expression(allowed),
            output_fields=["row"],
            search_params={"metric_type": "BM25"},
        )
        return [(int(h["entity"]["row"]), abs(float(h["distance"]))) for h in found[0]]

    def search_tokens(self, tokens: list[str], k: int, allowed: Selection | None = None) -> list[tuple[int, float]]:
        return self.search(" ".join(tokens), "", k, allowed) if tokens else []


def milvus_lexical(parts, folder: Path) -> MilvusLexical:
    from pymilvus import DataType, Function, FunctionType, MilvusClient

    client = MilvusClient(str(folder / "bm25.db"))
    schema = client.create_schema(auto_id=False)
    schema.add_field("row", DataType.INT64, is_primary=True)
    for name in ("doc", "kind", "pillar", "actor", "lang"):
        schema.add_field(name, DataType.VARCHAR, max_length=256)
    schema.add_field("text", DataType.VARCHAR, max_length=65_535, enable_analyzer=True, analyzer_params=ANALYZER)
    schema.add_field("sparse", DataType.SPARSE_FLOAT_VECTOR)
    schema.add_function(
        Function(
            name="bm25", function_type=FunctionType.BM25, input_field_names=["text"], output_field_names=["sparse"]
        )
    )
    index_params = client.prepare_index_params()
    index_params.add_index(
        "sparse", index_type="SPARSE_INVERTED_INDEX", metric_type="BM25", params={"bm25_k1": 1.2, "bm25_b": 0.75}
    )
    client.create_collection("lexical", schema=schema, index_params=index_params)
    client.insert(
        "lexical",
        [
            {
                "row": i,
                "doc": c.doc_id,
                "kind": c.kind,
                "pillar": c.pillar or "",
                "actor": c.actor or "",
                "lang": c.lang,
                "text": lexical_text(c),
            }
            for i, c in enumerate(parts.chunks)
        ],
    )
    client.flush("lexical")
    client.load_collection("lexical")
    try:
        from milvus_lite.analyzer.factory import create_analyzer  # what milvus-lite does with ANALYZER

        analyse = create_analyzer(ANALYZER).tokenize
        print("milvus-lite analyzer:", {w: analyse(w) for w in ("villes", "ville", "numériques", "numérique")})
    except ImportError:
        pass
    return MilvusLexical(client, "lexical", len(parts.chunks))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    args = parser.parse_args()
    index_dir = store.resolve(args.data_dir / "index")
    parts = open_folder(index_dir)
    embedder = QueryVectorCache(load_encoder(parts.manifest.model_id, args.data_dir / "models"))
    benchmark = load_benchmark()
    queries = list(benchmark.queries.values())
    embedder.prime([q.text for q in queries])
    in_process = Searcher.from_parts(parts, args.data_dir / "models", embedder=embedder)
    with tempfile.TemporaryDirectory() as tmp:
        leg = milvus_lexical(parts, Path(tmp))
        in_milvus = Searcher(dataclasses.replace(parts, lexical=leg), embedder, in_process._second)
        for label, searcher in (
            ("in-process bm25s (Snowball per language)", in_process),
            ("Milvus BM25 function (milvus-lite)", in_milvus),
        ):
            runs = run_systems(["bm25", "hybrid"], queries, searcher, embedder)
            report = evaluate(benchmark, runs)
            for system in ("bm25", "hybrid"):
                s = report.scores[system]
                print(
                    f"{label:<42} {system:<7} nDCG@10 held-out {s['held-out']['ndcg@10']:.3f}  "
                    f"all {s['all']['ndcg@10']:.3f}"
                )
        overlap = []
        for query in queries[:40]:
            a = {r for r, _ in in_process._lexical.search(query.text, "fr", 10)}
            b = {r for r, _ in leg.search(query.text, "fr", 10)}
            overlap.append(len(a & b) / max(1, len(a | b)))
        print(f"top-10 Jaccard overlap of the two lexical legs (40 queries): mean {np.mean(overlap):.2f}")


if __name__ == "__main__":
    main()
