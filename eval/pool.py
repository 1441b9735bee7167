"""Pooling for judgment: what the systems retrieved that the judgments do not cover yet.

    python -m boussole.eval.pool RUNS_DIR [--depth 30] [--need n01]

For each information need, the union of the top `depth` chunks of every run (both query
languages), minus the chunks already judged relevant, with the systems and best rank that
retrieved each. An assessor reads each listed chunk against the need and either adds it to
judgments.toml (rel2 / rel1) or leaves it out (not relevant). Chunks nobody retrieved are
found separately, by searching the documents' text for the need's key terms.
"""

from __future__ import annotations

import argparse
from collections import defaultdict
from pathlib import Path

from boussole.eval.benchmark import BENCHMARK_DIR, load_benchmark


def read_trec(path: Path) -> dict[str, list[str]]:
    ranked: dict[str, list[tuple[int, str]]] = defaultdict(list)
    for line in path.read_text(encoding="utf-8").splitlines():
        qid, _, cid, rank, _score, _tag = line.split()
        ranked[qid].append((int(rank), cid))
    return {q: [c for _, c in sorted(v)] for q, v in ranked.items()}


def pool(runs_dir: Path, depth: int = 30) -> dict[str, dict[str, tuple[int, set[str]]]]:
    """need -> chunk id -> (best rank, systems) over the top `depth` of every run."""
    benchmark = load_benchmark(BENCHMARK_DIR)
    out: dict[str, dict[str, tuple[int, set[str]]]] = defaultdict(dict)
    for path in sorted(runs_dir.glob("*.trec")):
        system = path.stem
        for qid, ranking in read_trec(path).items():
            query = benchmark.queries[qid]
            judged = benchmark.qrels.get(qid, {})
            for rank, cid in enumerate(ranking[:depth], start=1):
                if cid in judged:
                    continue
                best, systems = out[query.need].get(cid, (rank, set()))
                out[query.need][cid] = (min(best, rank), systems | {f"{system}:{query.lang}"})
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("runs_dir", type=Path)
    parser.add_argument("--depth", type=int, default=30)
    parser.add_argument("--need", action="append", default=[])
    parser.add_argument("--corpus-dir", type=Path, default=Path("corpus"))
    args = parser.parse_args()
    from boussole.ingest.pipeline import ingest_corpus

    text = {c.id: c.text for c in ingest_corpus(args.corpus_dir).chunks}
    needs = {q.need: q.text for q in load_benchmark(BENCHMARK_DIR).queries.values() if q.lang == "en"}
    for need, chunks in sorted(pool(args.runs_dir, args.depth).items()):
        if args.need and need not in args.need:
            continue
        print(f"\n## {need}: {needs[need]}  ({len(chunks)} unjudged in pool)")
        for cid, (rank, systems) in sorted(chunks.items(), key=lambda kv: kv[1][0]):
            print(f"  {rank:>2} {cid:<34} {len(systems)} {text[cid][:150]!r}")


if __name__ == "__main__":
    main()
