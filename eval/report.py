"""Metrics (ranx), paired significance tests, the out-of-scope signal, and the outputs
(TREC runs, report.json, report.md, chart.png).

All retrieval metrics come from ranx. nDCG in ranx uses linear gain (Järvelin & Kekäläinen:
gain = grade), so a grade-2 chunk counts twice a grade-1 chunk. MRR and Recall treat any
grade ≥ 1 as relevant. Out-of-scope queries have no qrels and are scored only through the
no-good-match signal.
"""

from __future__ import annotations

import importlib.util
import io
import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

from boussole.atomic import atomic_write_bytes, atomic_write_text
from boussole.errors import BoussoleError
from boussole.eval.benchmark import LANGS, Benchmark, half_of
from boussole.eval.runs import SystemRun, write_trec

METRICS = ("ndcg@10", "recall@10", "recall@50", "mrr@10")
PRIMARY = "ndcg@10"
# The held-out half first: it is the figure to quote (no tuned number looked at it).
# "all" mixes in the tuning half and is kept for comparison with earlier reports.
HEADLINE = "held-out"
SUBSETS = (HEADLINE, *(f"{HEADLINE}-{lang}" for lang in LANGS), "all", *LANGS)
LANG_SUBSETS = ("all", *LANGS)
REFERENCE = "hybrid"
NO_RESULT = "__no_result__"  # stands in for an empty ranking (ranx needs one entry per query)


@dataclass
class Comparison:
    baseline: str
    subset: str
    metric: str
    reference_score: float
    baseline_score: float
    p_value: float
    significant: bool  # p < alpha

    @property
    def delta(self) -> float:
        return self.reference_score - self.baseline_score


@dataclass
class ScopeStats:
    system: str
    subset: str
    out_of_scope_queries: int
    fired_on_out_of_scope: int  # correct: the signal says "no good match"
    in_scope_queries: int
    fired_on_in_scope: int  # wrong: the signal hides a good answer

    @property
    def detection_rate(self) -> float:
        return _ratio(self.fired_on_out_of_scope, self.out_of_scope_queries)

    @property
    def false_alarm_rate(self) -> float:
        return _ratio(self.fired_on_in_scope, self.in_scope_queries)


@dataclass
class Hubness:
    chunk_id: str
    share: float  # of judged in-scope queries whose top 10 holds it


def hubness(system: SystemRun, query_ids: Sequence[str], depth: int = 10) -> Hubness:
    """A passage in many top-10 lists answers few of them: it crowds unrelated answers."""
    counts = Counter(
        cid for q in query_ids for cid, _ in sorted((system.run.get(q) or {}).items(), key=lambda kv: -kv[1])[:depth]
    )
    if not counts or not query_ids:
        return Hubness("", 0.0)
    cid, n = counts.most_common(1)[0]
    return Hubness(cid, round(n / len(query_ids), 4))


@dataclass
class Report:
    systems: list[str]
    query_counts: dict[str, int]  # subset -> judged (in-scope) queries
    scores: dict[str, dict[str, dict[str, float]]]  # system -> subset -> metric -> mean
    by_topic: dict[str, dict[str, float]]  # topic -> system -> nDCG@10
    per_query: dict[str, dict[str, float]]  # system -> query id -> nDCG@10
    comparisons: list[Comparison]
    scope: list[ScopeStats]
    stat_test: str
    alpha: float
    seconds: dict[str, float]
    notes: dict[str, object] = field(default_factory=dict)
    # system -> query id -> confidence of the scope signal (fired when < 0.5), where there is one
    scope_confidence: dict[str, dict[str, float]] = field(default_factory=dict)
    # system -> the passage found in most top-10 lists of judged queries, and in what share
    hubness: dict[str, Hubness] = field(default_factory=dict)

    def not_beaten(self) -> list[Comparison]:
        """Where the hybrid does not score higher than a baseline (delta ≤ 0)."""
        return [c for c in self.comparisons if c.delta <= 0]

    def not_significant_wins(self) -> list[Comparison]:
        """Where the hybrid scores higher, but not significantly (p ≥ alpha)."""
        return [c for c in self.comparisons if c.delta > 0 and not c.significant]

    def topics_not_beaten(self, reference: str = REFERENCE) -> list[tuple[str, str, float, float]]:
        """(topic, baseline, hybrid nDCG@10, baseline nDCG@10) where the baseline scores higher."""
        out = []
        for topic, values in self.by_topic.items():
            if reference not in values:
                continue
            for system, value in values.items():
                if system != reference and value > values[reference]:
                    out.append((topic, system, values[reference], value))
        return out

    def to_dict(self) -> dict:
        data = asdict(self)
        data["comparisons"] = [{**asdict(c), "delta": c.delta} for c in self.comparisons]
        data["scope"] = [
            {**asdict(s), "detection_rate": s.detection_rate, "false_alarm_rate": s.false_alarm_rate}
            for s in self.scope
        ]
        data["primary_metric"] = PRIMARY
        return data


def require_tools() -> None:
    """BoussoleError naming the `eval` extra when ranx or matplotlib is missing: checked
    before the runs, which take minutes, rather than when their scores are computed."""
    missing = [name for name in ("ranx", "matplotlib") if importlib.util.find_spec(name) is None]
    if missing:
        raise BoussoleError(
            f"the evaluation needs Boussole's `eval` extra ({', '.join(missing)} missing): "
            "pip install -e '.[eval]' in the project folder"
        )


def _ratio(a: int, b: int) -> float:
    return a / b if b else float("nan")


def _ranx_qrels(benchmark: Benchmark, query_ids: Sequence[str]):
    from ranx import Qrels

    return Qrels.from_dict({q: dict(benchmark.qrels[q]) for q in query_ids})


def _ranx_run(system: SystemRun, query_ids: Sequence[str]):
    from ranx import Run

    data = {q: (dict(system.run.get(q) or {}) or {NO_RESULT: 0.0}) for q in query_ids}
    return Run.from_dict(data, name=system.name)


def subset_ids(benchmark: Benchmark, subset: str) -> list[str]:
    """Judged query ids of a subset: "all", a language, "held-out" or "held-out-<lang>"."""
    ids = [q for q in benchmark.in_scope_ids if q in benchmark.qrels]
    if subset.startswith(HEADLINE):
        ids = [q for q in ids if half_of(benchmark.queries[q].need) == HEADLINE]
        subset = subset[len(HEADLINE) + 1 :] or "all"
    return ids if subset == "all" else [q for q in ids if benchmark.queries[q].lang == subset]


def evaluate(
    benchmark: Benchmark,
    runs: Sequence[SystemRun],
    metrics: Sequence[str] = METRICS,
    stat_test: str = "student",
    alpha: float = 0.05,
    reference: str = REFERENCE,
) -> Report:
    from ranx import compare
    from ranx import evaluate as ranx_evaluate

    names = [r.name for r in runs]
    scores: dict[str, dict[str, dict[str, float]]] = {n: {} for n in names}
    comparisons: list[Comparison] = []
    counts: dict[str, int] = {}
    for subset in SUBSETS:
        ids = subset_ids(benchmark, subset)
        counts[subset] = len(ids)
        if not ids:
            continue
        qrels = _ranx_qrels(benchmark, ids)
        ranx_runs = [_ranx_run(r, ids) for r in runs]
        for system, run in zip(runs, ranx_runs):
            means = ranx_evaluate(qrels, run, list(metrics))
            means = means if isinstance(means, dict) else {metrics[0]: means}
            scores[system.name][subset] = {m: float(means[m]) for m in metrics}
        if reference in names and len(runs) > 1 and len(ids) > 1:
            ref_at = names.index(reference)
            ordered = [ranx_runs[ref_at]] + [r for i, r in enumerate(ranx_runs) if i != ref_at]
            result = compare(qrels, ordered, list(metrics), stat_test=stat_test, max_p=alpha, random_seed=42)
            table = result.to_dict()
            for other in names:
                if other == reference:
                    continue
                for metric in metrics:
                    p = float(table[reference]["comparisons"][other][metric])
                    comparisons.append(
                        Comparison(
                            other,
                            subset,
                            metric,
                            scores[reference][subset][metric],
                            scores[other][subset][metric],
                            p,
                            bool(p < alpha),
                        )
                    )

    all_ids = subset_ids(benchmark, "all")
    per_query: dict[str, dict[str, float]] = {}
    if all_ids:
        qrels = _ranx_qrels(benchmark, all_ids)
        for system in runs:
            values = ranx_evaluate(qrels, _ranx_run(system, all_ids), PRIMARY, return_mean=False)
            per_query[system.name] = {q: round(float(v), 4) for q, v in zip(all_ids, values)}
    topics = sorted({benchmark.queries[q].topic for q in all_ids})
    by_topic = {
        t: {
            s: round(
                sum(per_query[s][q] for q in all_ids if benchmark.queries[q].topic == t)
                / max(1, sum(benchmark.queries[q].topic == t for q in all_ids)),
                4,
            )
            for s in per_query
        }
        for t in topics
    }
    return Report(
        systems=names,
        query_counts=counts,
        scores=scores,
        by_topic=by_topic,
        per_query=per_query,
        comparisons=comparisons,
        scope=scope_stats(benchmark, runs),
        stat_test=stat_test,
        alpha=alpha,
        seconds={r.name: round(r.seconds, 2) for r in runs},
        scope_confidence={r.name: dict(r.confidence) for r in runs if r.confidence},
        hubness={r.name: hubness(r, all_ids) for r in runs},
    )


def scope_stats(benchmark: Benchmark, runs: Sequence[SystemRun]) -> list[ScopeStats]:
    out = []
    for system in runs:
        if not system.has_scope_signal:
            continue
        for subset in LANG_SUBSETS:
            qs = [q for q in system.no_match if subset == "all" or benchmark.queries[q].lang == subset]
            oos = [q for q in qs if benchmark.queries[q].out_of_scope]
            ins = [q for q in qs if not benchmark.queries[q].out_of_scope]
            out.append(
                ScopeStats(
                    system.name,
                    subset,
                    len(oos),
                    sum(system.no_match[q] for q in oos),
                    len(ins),
                    sum(system.no_match[q] for q in ins),
                )
            )
    return out


# -- outputs ---------------------------------------------------------------------------


def _fmt(value: float) -> str:
    return "n/a" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def table_rows(report: Report) -> list[list[str]]:
    rows = []
    for system in report.systems:
        for subset in SUBSETS:
            if subset not in report.scores[system]:
                continue
            values = report.scores[system][subset]
            rows.append([system, subset, str(report.query_counts[subset])] + [_fmt(values[m]) for m in METRICS])
    return rows


def text_table(report: Report) -> str:
    header = ["system", "subset", "queries", *METRICS]
    rows = [header] + table_rows(report)
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown(report: Report) -> str:
    out = ["# Boussole retrieval evaluation", ""]
    out.append(
        f"Judged in-scope queries: {report.query_counts.get('all', 0)} "
        f"({', '.join(f'{k} {v}' for k, v in report.query_counts.items() if k != 'all')}). "
        f"Metrics from ranx; paired test: {report.stat_test}, alpha {report.alpha}."
    )
    out += [
        "",
        "## Scores",
        "",
        "| system | subset | queries | " + " | ".join(METRICS) + " |",
        "|" + "---|" * (3 + len(METRICS)),
    ]
    out += ["| " + " | ".join(r) + " |" for r in table_rows(report)]
    if report.comparisons:
        out += [
            "",
            f"## Hybrid against each baseline ({report.stat_test}, paired over queries)",
            "",
            "| baseline | subset | metric | hybrid | baseline | delta | p | significant |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for c in report.comparisons:
            out.append(
                f"| {c.baseline} | {c.subset} | {c.metric} | {c.reference_score:.3f} | {c.baseline_score:.3f} | "
                f"{c.delta:+.3f} | {c.p_value:.4f} | {'yes' if c.significant else 'no'} |"
            )
        lost = report.not_beaten()
        out += ["", "### Where the hybrid does not beat a baseline", ""]
        if lost:
            out += [
                f"- {c.metric} on {c.subset}: hybrid {c.reference_score:.3f} vs {c.baseline} {c.baseline_score:.3f} "
                f"(delta {c.delta:+.3f}, p {c.p_value:.3f})"
                for c in lost
            ]
        else:
            out.append("- nowhere on these metrics and language subsets.")
        weak = report.not_significant_wins()
        if weak:
            out += ["", f"Higher but not significantly (p ≥ {report.alpha}):", ""]
            out += [
                f"- {c.metric} on {c.subset}: hybrid {c.reference_score:.3f} vs {c.baseline} {c.baseline_score:.3f} "
                f"(p {c.p_value:.3f})"
                for c in weak
            ]
        topics = report.topics_not_beaten()
        if topics:
            out += ["", f"Topics where a baseline has the higher {PRIMARY} (small groups, 6–16 queries, no test):", ""]
            out += [f"- {t}: {b} {bv:.3f} vs hybrid {hv:.3f}" for t, b, hv, bv in topics]
    if report.by_topic:
        systems = list(next(iter(report.by_topic.values())).keys())
        out += [
            "",
            f"## {PRIMARY} by topic (both languages)",
            "",
            "| topic | " + " | ".join(systems) + " |",
            "|" + "---|" * (1 + len(systems)),
        ]
        for topic, values in report.by_topic.items():
            out.append(f"| {topic} | " + " | ".join(f"{values[s]:.3f}" for s in systems) + " |")
    if report.scope:
        out += [
            "",
            "## No-good-match signal",
            "",
            "Fires on out-of-scope queries (should) and on in-scope queries (should not).",
            "",
            "| system | subset | out-of-scope fired | rate | in-scope fired (false alarms) | rate |",
            "|---|---|---|---|---|---|",
        ]
        for s in report.scope:
            out.append(
                f"| {s.system} | {s.subset} | {s.fired_on_out_of_scope}/{s.out_of_scope_queries} | "
                f"{_fmt(s.detection_rate)} | {s.fired_on_in_scope}/{s.in_scope_queries} | {_fmt(s.false_alarm_rate)} |"
            )
    if report.hubness:
        out += [
            "",
            "## Hubness",
            "",
            "The passage found in most top-10 lists of judged queries (a hub crowds unrelated answers).",
            "",
            "| system | passage | share of queries |",
            "|---|---|---|",
        ]
        out += [f"| {name} | {h.chunk_id} | {h.share:.2f} |" for name, h in report.hubness.items()]
    if report.notes:
        out += ["", "## Run notes", ""]
        out += [f"- {k}: {v}" for k, v in report.notes.items()]
    out += ["", "Seconds per system (queries only): " + ", ".join(f"{k} {v}" for k, v in report.seconds.items()), ""]
    return "\n".join(out)


def chart(report: Report, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    subsets = [s for s in SUBSETS if report.query_counts.get(s)]
    fig, axes = plt.subplots(2, 2, figsize=(11, 7), sharey=True)
    width = 0.8 / max(1, len(report.systems))
    for ax, metric in zip(axes.flat, METRICS):
        for i, system in enumerate(report.systems):
            values = [report.scores[system].get(s, {}).get(metric, 0.0) for s in subsets]
            xs = [j + (i - (len(report.systems) - 1) / 2) * width for j in range(len(subsets))]
            bars = ax.bar(xs, values, width, label=system)
            ax.bar_label(bars, fmt="%.2f", fontsize=7, padding=1)
        ax.set_xticks(range(len(subsets)), [f"{s} (n={report.query_counts[s]})" for s in subsets])
        ax.set_title(metric)
        ax.set_ylim(0, 1.05)
    axes.flat[0].legend(loc="upper right", fontsize=8)
    fig.suptitle("Boussole benchmark: systems by query language")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    atomic_write_bytes(path, buffer.getvalue())


def write_outputs(report: Report, runs: Sequence[SystemRun], out_dir: Path) -> dict[str, Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "runs").mkdir(exist_ok=True)
    paths: dict[str, Path] = {}
    for system in runs:
        path = out_dir / "runs" / f"{system.name}.trec"
        write_trec(path, system)
        paths[f"run:{system.name}"] = path
    paths["json"] = out_dir / "report.json"
    atomic_write_text(
        paths["json"],
        json.dumps(_finite(report.to_dict()), ensure_ascii=False, indent=1, default=str, allow_nan=False),
    )
    paths["markdown"] = out_dir / "report.md"
    atomic_write_text(paths["markdown"], markdown(report))
    paths["chart"] = out_dir / "chart.png"
    chart(report, paths["chart"])
    return paths


def _finite(value):
    """NaN (a rate over zero queries) becomes null: report.json stays strict JSON."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value
