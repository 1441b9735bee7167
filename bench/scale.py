"""Where one machine stops being enough: synthetic corpora at 100k and 1M passages.

    python -m bench.scale --sizes 100000 1000000 [--engines faiss-flat faiss-hnsw bm25s milvus-lite]

Each passage is a random unit vector (dimension 384, as multilingual-e5-small) with a
filter field and a short synthetic text from a 20,000-word vocabulary (Zipf-distributed,
as words are). Per engine and size it prints: build time and passages per second, the
resident memory the engine added (RSS of this process before and after, in MB; milvus-lite
runs its server in this process, so its figure covers client and server), and the median
and 95th-percentile latency of one top-100 query, without and with a filter that keeps
about 10% of the rows, over 200 queries. Figures, not assertions; seeded, so repeatable.

Engines: `faiss-flat` (exact, today's default), `faiss-hnsw` (approximate, HNSW M=16, efConstruction 40, efSearch 128),
`bm25s` (the lexical leg every replica keeps in memory), `milvus-lite` (the milvus
backend's collection layout, FLAT index, through pymilvus' gRPC client).
"""

from __future__ import annotations

import argparse
import gc
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

DIM = 384
QUERIES = 200
K = 100
FILTER_VALUES = 10  # the filter field takes 10 values: one value keeps ~10% of rows
ENGINES = ("faiss-flat", "faiss-hnsw", "bm25s", "milvus-lite")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def corpus(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    vectors = np.empty((n, DIM), dtype=np.float32)
    for start in range(0, n, 100_000):  # in blocks: no float64 copy of the whole corpus
        block = rng.standard_normal((min(100_000, n - start), DIM), dtype=np.float32)
        vectors[start : start + len(block)] = block / np.linalg.norm(block, axis=1, keepdims=True)
    groups = rng.integers(0, FILTER_VALUES, size=n)
    return vectors, groups


def texts(n: int, seed: int = 1) -> list[list[str]]:
    rng = np.random.default_rng(seed)
    lengths = rng.integers(20, 60, size=n)
    words = np.minimum(rng.zipf(1.2, size=int(lengths.sum())), 20_000)
    out, at = [], 0
    for length in lengths:
        out.append([f"w{w}" for w in words[at : at + length]])
        at += length
    return out


def queries(seed: int = 2) -> np.ndarray:
    rng = np.random.default_rng(seed)
    q = rng.standard_normal((QUERIES, DIM)).astype(np.float32)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def timed(fn, items) -> tuple[float, float]:
    """Median and 95th percentile of fn(item), in milliseconds."""
    times = []
    for item in items:
        started = time.perf_counter()
        fn(item)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), float(np.percentile(times, 95))


def bench_faiss(kind: str, vectors: np.ndarray, groups: np.ndarray, qs: np.ndarray) -> dict:
    import faiss

    faiss.omp_set_num_threads(2)  # building uses both cores; one query uses one (as a server thread does)
    before = rss_mb()
    started = time.perf_counter()
    if kind == "faiss-flat":
        index = faiss.IndexFlatIP(DIM)
    else:
        index = faiss.IndexHNSWFlat(DIM, 16, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = 40
        index.hnsw.efSearch = 128
    index.add(vectors)
    build = time.perf_counter() - started
    faiss.omp_set_num_threads(1)
    memory = rss_mb() - before
    rows = np.flatnonzero(groups == 0).astype(np.int64)
    selector = faiss.IDSelectorBatch(rows)
    params = (
        faiss.SearchParametersHNSW(sel=selector, efSearch=128)
        if kind == "faiss-hnsw"
        else faiss.SearchParameters(sel=selector)
    )
    plain = timed(lambda q: index.search(q[None, :], K), qs)
    filtered = timed(lambda q: index.search(q[None, :], K, params=params), qs)
    recall = None
    if kind == "faiss-hnsw":  # against exact search, on 50 queries
        exact = faiss.IndexFlatIP(DIM)
        exact.add(vectors)
        _, want = exact.search(qs[:50], 10)
        _, got = index.search(qs[:50], 10)
        recall = float(np.mean([len(set(a) & set(b)) / 10 for a, b in zip(want, got)]))
    return {"build_s": build, "memory_mb": memory, "plain": plain, "filtered": filtered, "recall@10": recall}


def bench_bm25s(n: int, groups: np.ndarray) -> dict:
    import bm25s

    docs = texts(n)
    before = rss_mb()
    started = time.perf_counter()
    retriever = bm25s.BM25(k1=1.2, b=0.75, method="lucene")
    retriever.index(docs, show_progress=False)
    build = time.perf_counter() - started
    memory = rss_mb() - before  # the token lists exist before and after: this is the index
    del docs
    rng = np.random.default_rng(3)
    qtokens = [[f"w{w}" for w in np.minimum(rng.zipf(1.2, size=6), 20_000)] for _ in range(QUERIES)]
    mask = groups == 0

    def search(tokens, allowed=None):
        ids = retriever.get_tokens_ids(tokens)
        scores = retriever.get_scores_from_ids(ids) if ids else np.zeros(n)
        if allowed is not None:
            scores = np.where(allowed, scores, 0.0)
        top = np.argpartition(-scores, K - 1)[:K]
        return top[np.argsort(-scores[top])]

    plain = timed(search, qtokens)
    filtered = timed(lambda t: search(t, mask), qtokens)
    return {"build_s": build, "memory_mb": memory, "plain": plain, "filtered": filtered, "recall@10": None}


def bench_milvus(vectors: np.ndarray, groups: np.ndarray, qs: np.ndarray, folder: Path) -> dict:
    from pymilvus import DataType, MilvusClient

    client = MilvusClient(str(folder / "scale.db"))
    before = rss_mb()
    started = time.perf_counter()
    schema = client.create_schema(auto_id=False, enable_dynamic_field=False)
    schema.add_field("row", DataType.INT64, is_primary=True)
    schema.add_field("lang", DataType.VARCHAR, max_length=16)
    schema.add_field("e5", DataType.FLOAT_VECTOR, dim=DIM)
    index_params = client.prepare_index_params()
    index_params.add_index("e5", index_type="FLAT", metric_type="IP")
    client.create_collection("scale", schema=schema, index_params=index_params)
    for start in range(0, len(vectors), 5_000):
        block = vectors[start : start + 5_000]
        client.insert(
            "scale",
            [{"row": start + i, "lang": f"g{groups[start + i]}", "e5": v.tolist()} for i, v in enumerate(block)],
        )
    client.flush("scale")
    client.load_collection("scale")
    build = time.perf_counter() - started
    memory = rss_mb() - before

    def search(q, filter_=""):
        return client.search(
            "scale",
            data=[q.tolist()],
            anns_field="e5",
            limit=K,
            filter=filter_,
            output_fields=["row"],
            search_params={"metric_type": "IP"},
        )

    plain = timed(search, qs[:50])
    filtered = timed(lambda q: search(q, 'lang == "g0"'), qs[:50])
    client.drop_collection("scale")
    client.close()
    return {"build_s": build, "memory_mb": memory, "plain": plain, "filtered": filtered, "recall@10": None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--engines", nargs="+", choices=ENGINES, default=list(ENGINES))
    args = parser.parse_args()
    qs = queries()
    print(
        f"{'engine':<12} {'passages':>9} {'build s':>8} {'per s':>9} {'+RSS MB':>8} "
        f"{'p50 ms':>7} {'p95 ms':>7} {'filt p50':>8} {'filt p95':>8} {'recall@10':>9}",
        flush=True,
    )
    for n in args.sizes:
        vectors, groups = corpus(n)
        for engine in args.engines:
            gc.collect()
            if engine.startswith("faiss"):
                r = bench_faiss(engine, vectors, groups, qs)
            elif engine == "bm25s":
                r = bench_bm25s(n, groups)
            else:
                with tempfile.TemporaryDirectory() as tmp:
                    r = bench_milvus(vectors, groups, qs, Path(tmp))
            recall = f"{r['recall@10']:.3f}" if r["recall@10"] is not None else "exact" if engine != "bm25s" else "-"
            print(
                f"{engine:<12} {n:>9,} {r['build_s']:>8.1f} {n / r['build_s']:>9,.0f} {r['memory_mb']:>8.0f} "
                f"{r['plain'][0]:>7.1f} {r['plain'][1]:>7.1f} {r['filtered'][0]:>8.1f} {r['filtered'][1]:>8.1f} "
                f"{recall:>9}",
                flush=True,
            )
        del vectors, groups


if __name__ == "__main__":
    main()
