"""Choose the hybrid's fusion on half of the benchmark, check it on the other half.

    python -m eval.fusion_sweep [--data-dir data]

Needs are split by number (odd: tuning half, even: held-out half) so that the French and
English versions of one need stay on the same side. Prints nDCG@10 per variant and
language on both halves; the variant the searcher uses is chosen on the tuning half only.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def main(argv: list[str] | None = None) -> None:
    from ranx import Qrels, Run, evaluate

    from eval.benchmark import load_benchmark
    from index.feedback import feedback_terms
    from index.fusion import convex_combination, language_weights, reciprocal_rank_fusion
    from index.language import language_probabilities
    from index.searcher import Searcher
    from service.settings import Settings

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    settings = Settings.from_env(data_dir=args.data_dir)
    searcher = Searcher.open(settings.index_dir, settings.models_dir)
    bench = load_benchmark()
    queries = [q for q in bench.queries.values() if not q.out_of_scope and q.id in bench.qrels]
    langs = searcher._columns.lang
    ids = [c.id for c in searcher.chunks]

    cached = {}
    for q in queries:
        probs = language_probabilities(q.text)
        qlang = max(probs, key=probs.get)
        qvec = searcher._embedder.embed_queries([q.text])[0]
        dense = searcher._dense.search(qvec, 100)
        lexical = searcher._lexical.search(q.text, qlang, 100)
        cached[q.id] = (dense, lexical, language_weights(probs, langs))

    variants = {
        "dense": lambda d, l, w: d,
        "bm25": lambda d, l, w: l,
        "rrf": lambda d, l, w: reciprocal_rank_fusion([d, l]),
        "rrf-lang": lambda d, l, w: reciprocal_rank_fusion([d, l], [1.0, w]),
        "rrf-lang-0.5": lambda d, l, w: reciprocal_rank_fusion([d, l], [1.0, 0.5 * w]),
    }
    for alpha in (0.5, 0.6, 0.7, 0.8, 0.9):
        variants[f"convex-{alpha}"] = lambda d, l, w, a=alpha: convex_combination(d, l, a)
        variants[f"convex-lang-{alpha}"] = lambda d, l, w, a=alpha: convex_combination(d, l, a, w)

    # Pseudo-relevance feedback on top of convex-lang-0.5 (index.feedback).
    tokens, df = searcher._lexical_tokens, searcher._df

    def with_feedback(d, l, w, docs, terms, weight):
        first = convex_combination(d, l, 0.5, w)
        expansion = feedback_terms([row for row, _ in first[:docs]], tokens, df, terms)
        return convex_combination(first, searcher._lexical.search_tokens(expansion, 100), 1 - weight)

    for docs, terms, weight in ((3, 10, 0.3), (3, 20, 0.3), (5, 10, 0.3), (5, 20, 0.3), (5, 20, 0.5), (10, 20, 0.3)):
        variants[f"prf-{docs}-{terms}-{weight}"] = (
            lambda d, l, w, a=docs, b=terms, c=weight: with_feedback(d, l, w, a, b, c)
        )

    def need_number(qid: str) -> int:
        return int(qid.split("-")[0].lstrip("n"))

    halves = {
        "tune": [q for q in queries if need_number(q.id) % 2 == 1],
        "held-out": [q for q in queries if need_number(q.id) % 2 == 0],
    }
    print(f"{'variant':<18}" + "".join(f"{h + ' ' + lang:>14}" for h in halves for lang in ("fr", "en", "all")))
    for name, fuse in variants.items():
        row = []
        for half in halves.values():
            for lang in ("fr", "en", None):
                subset = [q for q in half if lang is None or q.lang == lang]
                qrels = Qrels({q.id: bench.qrels[q.id] for q in subset})
                run = Run({
                    q.id: {ids[r]: float(100 - i) for i, (r, _s) in enumerate(fuse(*cached[q.id])[:100])}
                    for q in subset
                })
                row.append(evaluate(qrels, run, "ndcg@10"))
        print(f"{name:<18}" + "".join(f"{v:>14.3f}" for v in row))


if __name__ == "__main__":
    main()
