"""FusionConfig: every tuned number of the ranking, in one place.

The searcher, the sweep (`python -m boussole.eval.fusion_sweep`) and the evaluation all read this
one object, and `boussole build` records it in the index manifest, so a figure can always
be traced to the configuration that produced it.

Where the defaults come from: each was chosen on the benchmark's tuning half (needs with
an odd number) with `python -m boussole.eval.fusion_sweep`, and is reported on the held-out half
(even needs), which no choice looked at; the language means are computed from the
calibration set (index/calibration.toml), never from the benchmark. The README's
"Evaluation" section gives the held-out figures.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any


@dataclass(frozen=True)
class FusionConfig:
    candidates: int = 100  # depth of each ranking fed to the fusion
    # Dense: e5 vectors centred on the corpus passage mean (passages) and on the mean of the
    # calibration questions in the query's language (queries), then renormalised. Removes the
    # language component multilingual encoders carry, and with it most hub passages.
    centre: bool = True
    # CSLS hubness penalty λ (index.calibrate.hubness): measured, lowered nDCG@10 on the
    # tuning half at every λ tried (0.3, 0.5), so it is off.
    hubness_penalty: float = 0.0
    # dense = centred e5 cosine + use_weight · USE cosine. 0.5 on the French-only corpus;
    # 0.8 with the English versions (tuning half, with dense_weight 0.6 and twin_dense_mean:
    # nDCG@10 0.492 → 0.510; python -m boussole.eval.fusion_sweep).
    use_weight: float = 0.8
    # USE hub penalty (index.calibrate.outlying_hubs): passages whose USE hubness against the
    # calibration questions lies over mean + use_hub_z·sd lose use_hub_penalty × the excess.
    # Chosen on the tuning half (z 1.5/2, λ 1/2/4): the lowest hub share at unchanged nDCG.
    use_hub_penalty: float = 2.0
    use_hub_z: float = 2.0
    dense_weight: float = (
        0.6  # α of the convex combination dense vs language-weighted BM25 (0.5 before the English versions)
    )
    feedback_docs: int = 5  # pseudo-relevance feedback: terms from the first pass's top passages
    feedback_terms: int = 40
    feedback_weight: float = 0.2
    pillar_lift: float = 0.2  # index.fusion.structure_lift β
    # index.fusion.structure_lift γ. Re-checked with the adapter: 0.2 gained on the tuning halves
    # and on the held-out answers, not on held-out passages, so it stays (docs/evaluation.md).
    paragraph_lift: float = 0.1
    lift_depth: int = 20
    # index.fusion.term_bridge: definitions among the first `glossary_depth` results lift the
    # passages that use their term, with weight `glossary_weight` (tuning half, at 0.1-0.3 and
    # depths 5-20; see docs/evaluation.md).
    glossary_weight: float = 0.3
    glossary_depth: int = 10
    # Passages in several languages (index.fusion.collapse_twins): a passage's score is its
    # best version's plus twin_weight × its second best's. Measured on the tuning half at
    # 0, 0.25, 0.5 and 1 (python -m boussole.eval.fusion_sweep): within noise once twin_dense_mean is on; 0.
    twin_weight: float = 0.0
    # Dense score of a passage = the mean of its versions' dense scores (each version is
    # another view of the same text), given to every version before the fusion (tuning half).
    twin_dense_mean: bool = True
    # Item problems (index.problems): an item's dense score is (1 - problem_share) × its
    # text's + problem_share × the question's similarity to its problem statements (centred
    # e5 + use_weight · USE); a chunk without statements keeps its text's score, and the
    # items whose statements are closest join the candidates. Chosen on the tuning halves of
    # both benchmarks (eval/benchmark: needs with an odd number; answers.toml: half
    # "tuning"): with eight statements per item and language, shares 0.7 / 0.75 / 0.8 /
    # 0.85 / 0.9 gave answer F 0.604 / 0.614 / 0.622 / 0.609 / 0.614 and tuning nDCG@10
    # 0.634 / 0.637 / 0.630 / 0.624 / 0.630; with six, shares 0.7 / 0.8 / 0.9 gave
    # tuning nDCG@10 0.627 / 0.627 / 0.620 and answer F 0.576 / 0.600 / 0.595; with four,
    # shares 0.5-0.9 gave nDCG 0.570-0.606 and F 0.49-0.57, both best at 0.8 too; with two,
    # the best was 0.67 (nDCG 0.590, F 0.540). Pooling an item's statements by their mean
    # beat the best one and the best two. 0 turns it off. See docs/evaluation.md, "Item
    # problems".
    problem_share: float = 0.8
    # Judged problems (index.judged): the question's `judged_neighbours` nearest judged
    # problems vote for their must items (acceptable ones at `judged_good` × the weight),
    # each weighted by a softmax of its similarity at `judged_temperature`; a row's score
    # gains the weight × the ranking's best score × its vote (index.fusion.judged_lift).
    # The vote names principles and measures only, so it weighs less in a passage search
    # (`judged_weight`: tuning nDCG@10 0.652 / 0.662 / 0.656 / 0.641 / 0.631 at 0 / 0.3 /
    # 0.5 / 0.7 / 1, `python -m boussole.eval.fusion_sweep`, benchmark needs with an odd
    # number) than in the answer's ranking (`answer_judged_weight`, service.recommend:
    # tuning must-recall / precision 0.648 / 0.693, 0.680 / 0.736, 0.695 / 0.744, 0.712 /
    # 0.749 at 0 / 0.5 / 0.7 / 1, 0.701-0.709 at 1.5-2; `python -m boussole.eval.answers
    # --half tuning --fusion answer_judged_weight=W`, eval/benchmark/answers.toml's 64 tuning
    # problems). Neighbours 10 / 20 / 30, temperature 0.05 / 0.1 / 0.2 and good 0.3 / 0.5 /
    # 0.7 were tried on the same problems: 0.68-0.72 must-recall, 20 / 0.1 / 0.5 chosen
    # (docs/evaluation.md, "Judged problems as neighbours"). 0 turns a vote off.
    judged_weight: float = 0.3
    answer_judged_weight: float = 1.0
    judged_neighbours: int = 20
    judged_temperature: float = 0.1
    judged_good: float = 0.5

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> FusionConfig:
        if not data:
            return cls()
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def with_(self, **changes: Any) -> FusionConfig:
        return replace(self, **changes)

    def for_answer(self) -> FusionConfig:
        """The ranking an answer is read from (service.recommend): the judged problems'
        vote at its answer weight."""
        return replace(self, judged_weight=self.answer_judged_weight)


DEFAULT_FUSION = FusionConfig()
