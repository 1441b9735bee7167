"""Speed and memory of the index on this machine: figures, not assertions.

    python -m bench.index_speed [--data-dir data] [--repeat 30]   # BOUSSOLE_ENCODER=fp32|torch to compare

Prints: index build time for the shipped corpus (model already built, empty embedding
cache), the median latency of a full hybrid search against the median time the bare
model takes to encode the same query (the ratio is what matters: both are measured in
this run, on this machine), and the peak resident memory of the process.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import tempfile
import time
from pathlib import Path

QUERIES = [
    "Floods hit our neighbourhoods without any warning",
    "Nos habitants âgés n'arrivent pas à utiliser les services en ligne",
    "our pilot projects stop when the grant runs out",
    "les habitants des quartiers informels n'ont pas accès à internet",
    "how do we protect residents' personal data collected by sensors",
    "comment associer les citoyens aux décisions sur les projets numériques",
]


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main(argv: list[str] | None = None) -> None:
    from boussole.index.builder import build_index
    from boussole.index.encoders.factory import load_encoder
    from boussole.index.searcher import Searcher
    from boussole.ingest.pipeline import ingest_corpus
    from boussole.service.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)
    settings = Settings.from_env(data_dir=args.data_dir)

    t0 = time.perf_counter()
    report = ingest_corpus(settings.corpus_dir)
    ingest_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    embedder = load_encoder(settings.model, settings.models_dir, encoder=settings.encoder)
    load_s = time.perf_counter() - t0
    embedder.embed_queries(["warm-up"])

    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        built = build_index(report.chunks, report.documents, embedder, Path(tmp) / "index", cache_dir=None)
        build_s = time.perf_counter() - t0
        searcher = Searcher.open(Path(tmp) / "index", settings.models_dir, embedder=embedder)

        encode, search = [], []
        for i in range(args.repeat):
            query = QUERIES[i % len(QUERIES)]
            t0 = time.perf_counter()
            embedder.embed_queries([query])
            encode.append(time.perf_counter() - t0)
            searcher._query_cache.clear()  # measure a new query, not a remembered one
            t0 = time.perf_counter()
            searcher.search(query, k=10)
            search.append(time.perf_counter() - t0)

    enc_ms, search_ms = statistics.median(encode) * 1000, statistics.median(search) * 1000
    print(f"chunks                         {built.manifest.chunk_count}")
    print(f"ingest corpus                  {ingest_s:8.2f} s")
    print(f"load model                     {load_s:8.2f} s")
    print(f"build index (embed all)        {build_s:8.2f} s  ({built.manifest.chunk_count / build_s:.0f} chunks/s)")
    print(f"query encoding, bare model     {enc_ms:8.2f} ms median over {args.repeat}")
    print(f"hybrid search, end to end      {search_ms:8.2f} ms median over {args.repeat}")
    print(f"search / encoding ratio        {search_ms / enc_ms:8.2f}x")
    print(f"encoder                        {type(embedder).__name__} {getattr(embedder, 'precision', '')}")
    print(f"peak resident memory           {_peak_rss_mb():8.0f} MB")


if __name__ == "__main__":
    main()
