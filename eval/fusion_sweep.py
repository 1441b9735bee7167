"""Choose the ranking's configuration on half of the benchmark, report it on the other half.

    python -m boussole.eval.fusion_sweep [--data-dir data]

Needs are split by number (eval.benchmark.half_of: odd → tuning half, even → held-out
half), so the French and English versions of one need stay on the same side. Every
variant is an `index.config.FusionConfig`; the defaults were chosen by the tuning-half
columns only, and the held-out columns are the figures to quote. Prints nDCG@10 per half
and language, and the share of queries whose top 10 holds the most frequent passage
(hubness). Variants without language centring need an index built without it: the sweep
builds one in a temporary folder from the embedding cache (no re-embedding).
"""

from __future__ import annotations

import argparse
import tempfile
from collections import Counter
from pathlib import Path

from boussole.index.config import DEFAULT_FUSION, FusionConfig

# Before this configuration: plain e5, no second encoder, no structure lift, 20 PRF terms.
BEFORE = FusionConfig(
    centre=False,
    use_weight=0.0,
    use_hub_penalty=0.0,
    feedback_terms=20,
    feedback_weight=0.3,
    pillar_lift=0.0,
    paragraph_lift=0.0,
    glossary_weight=0.0,
    problem_share=0.0,
)
# The default before the English versions of the corpus (chosen on the French-only corpus).
FRENCH_ERA = DEFAULT_FUSION.with_(use_weight=0.5, dense_weight=0.5, twin_dense_mean=False, problem_share=0.0)
# The default before item problems (index.problems).
BILINGUAL = DEFAULT_FUSION.with_(problem_share=0.0)
# The previous default: everything up to the structure lift, before the glossary bridge and
# the USE hub penalty.
STRUCTURE = FRENCH_ERA.with_(glossary_weight=0.0, use_hub_penalty=0.0)

# The lever ladder: each lever on top of the ones above it, then the grid around the choice.
VARIANTS: dict[str, FusionConfig] = {
    "before (e5 + BM25 + PRF)": BEFORE,
    "+ USE 0.5, no centring": BEFORE.with_(use_weight=0.5),
    "+ centring": BEFORE.with_(centre=True),
    "+ centring + CSLS 0.3": BEFORE.with_(centre=True, hubness_penalty=0.3),
    "+ centring + CSLS 0.5": BEFORE.with_(centre=True, hubness_penalty=0.5),
    "+ centring + USE 0.3": BEFORE.with_(centre=True, use_weight=0.3),
    "+ centring + USE 0.5": BEFORE.with_(centre=True, use_weight=0.5),
    "+ centring + USE 0.7": BEFORE.with_(centre=True, use_weight=0.7),
    "+ centring + USE 0.5 + CSLS 0.5": BEFORE.with_(centre=True, use_weight=0.5, hubness_penalty=0.5),
    "  + PRF 40 terms": BEFORE.with_(centre=True, use_weight=0.5, feedback_terms=40),
    "  + pillar lift 0.4": BEFORE.with_(centre=True, use_weight=0.5, feedback_terms=40, pillar_lift=0.4),
    "  + paragraph lift 0.1": STRUCTURE.with_(feedback_weight=0.3, pillar_lift=0.4),
    "  + PRF weight 0.2": STRUCTURE.with_(pillar_lift=0.4),
    "  pillar lift 0.4 → 0.2": STRUCTURE,
    "  + glossary bridge 0.1": STRUCTURE.with_(glossary_weight=0.1),
    "  + glossary bridge 0.2": STRUCTURE.with_(glossary_weight=0.2),
    "  + glossary bridge 0.3": STRUCTURE.with_(glossary_weight=0.3),
    "  + glossary bridge 0.3, depth 20": STRUCTURE.with_(glossary_weight=0.3, glossary_depth=20),
    "  + USE hub penalty z2 λ1": FRENCH_ERA.with_(use_hub_penalty=1.0),
    "  + USE hub penalty z2 λ2 (French-era default)": FRENCH_ERA,
    "  + USE hub penalty z2 λ4": FRENCH_ERA.with_(use_hub_penalty=4.0),
    "  + USE hub penalty z1.5 λ1": FRENCH_ERA.with_(use_hub_penalty=1.0, use_hub_z=1.5),
    # With the English versions: how a passage's versions are fused, then the weights again.
    "versions: best version + 0.25 × second": FRENCH_ERA.with_(twin_weight=0.25),
    "versions: best version + 0.5 × second": FRENCH_ERA.with_(twin_weight=0.5),
    "versions: best version + 1 × second": FRENCH_ERA.with_(twin_weight=1.0),
    "versions: dense = mean of the versions": FRENCH_ERA.with_(twin_dense_mean=True),
    "  + α 0.6": FRENCH_ERA.with_(twin_dense_mean=True, dense_weight=0.6),
    "  + USE 0.8, α 0.6 (default before item problems)": BILINGUAL,
    "  + USE 0.8, α 0.6, second × 0.25": BILINGUAL.with_(twin_weight=0.25),
    "default, pillar lift 0.1": DEFAULT_FUSION.with_(pillar_lift=0.1),
    "default, no pillar or list lift": DEFAULT_FUSION.with_(pillar_lift=0.0, paragraph_lift=0.0),
    "default, α 0.7": DEFAULT_FUSION.with_(dense_weight=0.7),
    "default, PRF weight 0.35": DEFAULT_FUSION.with_(feedback_weight=0.35),
    "default, no PRF": DEFAULT_FUSION.with_(feedback_weight=0.0),
    "default, CSLS on e5 0.1": DEFAULT_FUSION.with_(hubness_penalty=0.1),
    # Re-checked with the item-problem adapter, one weight at a time (docs/evaluation.md, 2026-12-07).
    "default, paragraph lift 0.2": DEFAULT_FUSION.with_(paragraph_lift=0.2),
    "default, no paragraph lift": DEFAULT_FUSION.with_(paragraph_lift=0.0),
    "default, pillar lift 0.3": DEFAULT_FUSION.with_(pillar_lift=0.3),
    "default, no pillar lift": DEFAULT_FUSION.with_(pillar_lift=0.0),
    "default, USE 0.5": DEFAULT_FUSION.with_(use_weight=0.5),
    "default, USE 1.0": DEFAULT_FUSION.with_(use_weight=1.0),
    "default, α 0.5": DEFAULT_FUSION.with_(dense_weight=0.5),
    "default, no glossary bridge": DEFAULT_FUSION.with_(glossary_weight=0.0),
    # Item problems (index.problems) on the default: share of an item's dense score from its
    # problem statements (0: off, the default before them).
    **{
        f"item problems, share {share}": DEFAULT_FUSION.with_(problem_share=share)
        for share in (0.0, 0.33, 0.5, 0.67, 0.7, 0.75, 0.8, 0.9)
    },
    # Judged problems as neighbours (index.judged) on the default: their vote's weight
    # (0: off, the default before them); chosen on the answer benchmark's tuning half.
    **{
        f"judged problems' vote, weight {w}": DEFAULT_FUSION.with_(judged_weight=w)
        for w in (0.0, 0.3, 0.5, 0.7, 1.0, 2.0)
    },
}


def main(argv: list[str] | None = None) -> None:
    from boussole.eval.report import require_tools

    require_tools()
    from ranx import Qrels, Run, evaluate

    from boussole.eval.benchmark import half_of, load_benchmark
    from boussole.eval.runs import QueryVectorCache, ranked_ids
    from boussole.index.builder import build_index
    from boussole.index.encoders.factory import DEFAULT_MODEL, load_encoder, load_second_encoder
    from boussole.index.searcher import Searcher
    from boussole.ingest.pipeline import ingest_corpus

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--corpus-dir", type=Path, default=Path("corpus"))
    args = parser.parse_args(argv)
    models_dir, cache_dir = args.data_dir / "models", args.data_dir / "cache"

    bench = load_benchmark()
    queries = [q for q in bench.queries.values() if not q.out_of_scope and q.id in bench.qrels]
    e5 = QueryVectorCache(load_encoder(DEFAULT_MODEL, models_dir))
    use = QueryVectorCache(load_second_encoder())
    e5.prime([q.text for q in queries])
    use.prime([q.text for q in queries])
    ingested = ingest_corpus(args.corpus_dir)

    searchers: dict[bool, Searcher] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for centre in (True, False):
            index_dir = Path(tmp) / f"index-centre-{centre}"
            build_index(
                ingested.chunks,
                ingested.documents,
                e5,
                index_dir,
                cache_dir,
                second=use,
                fusion=DEFAULT_FUSION.with_(centre=centre),
            )
            searchers[centre] = Searcher.open(index_dir, models_dir, embedder=e5, second=use)

        columns = [(h, lang) for h in ("tuning", "held-out") for lang in ("fr", "en", None)]
        print(f"{'variant':<38}" + "".join(f"{h[:4] + ' ' + (lang or 'all'):>10}" for h, lang in columns) + "   hub@10")
        for name, config in VARIANTS.items():
            searcher = searchers[config.centre]
            ranked = {q.id: ranked_ids(searcher.search(q.text, k=100, fusion=config).hits)[:100] for q in queries}
            row = []
            for h, lang in columns:
                subset = [q for q in queries if half_of(q.need) == h and (lang is None or q.lang == lang)]
                qrels = Qrels({q.id: bench.qrels[q.id] for q in subset})
                run = Run({q.id: {cid: float(100 - i) for i, cid in enumerate(ranked[q.id])} for q in subset})
                row.append(evaluate(qrels, run, "ndcg@10"))
            top = Counter(cid for ids in ranked.values() for cid in ids[:10]).most_common(1)[0]
            print(
                f"{name:<38}" + "".join(f"{v:>10.4f}" for v in row) + f"   {top[1] / len(queries):.2f} {top[0]}",
                flush=True,
            )


if __name__ == "__main__":
    main()
