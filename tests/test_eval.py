"""The judged benchmark and the evaluation harness.

Fast tests: the BEIR files (loadable, consistent with the current chunks and with the
judgments), the ranx wiring on hand-made runs whose scores are computed by hand, and the
generic baseline's windowing and mapping with a deterministic fake embedder. Slow test: the
whole harness on a small subset with the real model and index.
"""

from __future__ import annotations

import hashlib
import json
import math

import numpy as np
import pytest

from boussole.eval.benchmark import (
    BENCHMARK_DIR,
    PILLAR_KEYS,
    Benchmark,
    Query,
    load_benchmark,
    load_needs,
    resolve_judgments,
    validate,
    write_beir,
)
from boussole.eval.generic import GenericBaseline, locate, map_windows, to_chunk_ranking, windows
from boussole.eval.report import evaluate
from boussole.eval.runs import SystemRun
from boussole.ingest.models import Chunk

# -- the benchmark files ----------------------------------------------------------------


@pytest.fixture(scope="module")
def benchmark() -> Benchmark:
    return load_benchmark(BENCHMARK_DIR)


def test_benchmark_files_load_as_beir(benchmark):
    lines = (BENCHMARK_DIR / "qrels" / "test.tsv").read_text(encoding="utf-8").splitlines()
    assert lines[0].split("\t") == ["query-id", "corpus-id", "score"]
    assert all(len(line.split("\t")) == 3 for line in lines[1:])
    for line in (BENCHMARK_DIR / "queries.jsonl").read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        assert {"_id", "text", "lang", "metadata"} <= row.keys()
        assert {"pillar", "out_of_scope", "topic"} <= row["metadata"].keys()


def test_benchmark_size_languages_and_coverage(benchmark):
    queries = list(benchmark.queries.values())
    assert len(queries) >= 80
    fr = sum(q.lang == "fr" for q in queries)
    en = sum(q.lang == "en" for q in queries)
    assert fr == en
    assert sum(q.out_of_scope for q in queries) >= 8
    assert {q.pillar for q in queries if q.pillar} == set(PILLAR_KEYS)
    topics = {q.topic for q in queries}
    assert {"implementation", "glossary", "resolution", "eb-report", "partnership", "city-examples"} <= topics


def test_every_qrel_exists_in_the_current_chunks_and_queries(benchmark, ingest_report):
    assert validate(benchmark, (c.id for c in ingest_report.chunks)) == []
    assert set(benchmark.qrels) == set(benchmark.in_scope_ids)
    for qid in benchmark.in_scope_ids:
        assert 2 in benchmark.qrels[qid].values(), f"{qid} has no grade-2 chunk"


def test_qrels_cover_every_document(benchmark, ingest_report):
    doc_of = {c.id: c.doc_id for c in ingest_report.chunks}
    judged_docs = {doc_of[c] for docs in benchmark.qrels.values() for c in docs}
    # judged on the authoritative texts; their translations carry the grades
    assert judged_docs == {d.id for d in ingest_report.documents if not d.version_of}


def test_committed_files_match_the_judgments(benchmark, ingest_report):
    """queries.jsonl and qrels/test.tsv are what judgments.toml resolves to today."""
    queries, qrels = resolve_judgments(load_needs(), ingest_report.chunks)
    assert queries == benchmark.queries
    assert qrels == benchmark.qrels


def test_export_round_trips(tmp_path, benchmark, ingest_report):
    write_beir(tmp_path, ingest_report.chunks, benchmark)
    again = load_benchmark(tmp_path, with_corpus=True)
    assert again.queries == benchmark.queries
    # the export holds every language version, and each translation carries its original's grade
    assert set(again.corpus) == {c.id for c in ingest_report.chunks}
    twin = {c.id: c.key for c in ingest_report.chunks}
    for qid, docs in benchmark.qrels.items():
        exported = again.qrels[qid]
        assert {cid: g for cid, g in exported.items() if cid in docs} == docs
        assert len(exported) == 2 * len(docs)  # every judged passage has one English twin
        assert all(any(twin[cid] == twin[o] and exported[cid] == g for o, g in docs.items()) for cid in exported)
    assert all({"_id", "title", "text"} <= row.keys() for row in again.corpus.values())


# -- ranx wiring on hand-made runs --------------------------------------------------------
# model-free and fast: tests/conftest.py runs ranx's numba functions interpreted


def _tiny() -> Benchmark:
    queries = {
        "a": Query("a", "first", "fr", "a", "t"),
        "b": Query("b", "second", "en", "b", "t"),
        "z": Query("z", "nothing", "en", "z", "out-of-scope", out_of_scope=True),
    }
    qrels = {"a": {"d1": 2, "d2": 1}, "b": {"d3": 1}}
    return Benchmark(queries, qrels)


def _run(name: str, run: dict, no_match: dict | None = None) -> SystemRun:
    return SystemRun(name, run, 0.0, no_match or {})


def test_perfect_run_scores_one():
    bench = _tiny()
    perfect = _run("hybrid", {"a": {"d1": 3.0, "d2": 2.0, "x": 1.0}, "b": {"d3": 1.0}})
    report = evaluate(bench, [perfect])
    for subset in ("all", "fr", "en"):
        for metric, value in report.scores["hybrid"][subset].items():
            assert value == pytest.approx(1.0), (subset, metric)


def test_metrics_equal_hand_computed_values():
    bench = _tiny()
    # query a: grade-1 chunk first, grade-2 second; query b: relevant chunk at rank 3
    run = _run("hybrid", {"a": {"d2": 3.0, "d1": 2.0}, "b": {"x": 3.0, "y": 2.0, "d3": 1.0}})
    other = _run("bm25", {"a": {"x": 1.0}, "b": {"d3": 1.0}})
    report = evaluate(bench, [run, other])
    # nDCG with linear gain: DCG = 1/log2(2) + 2/log2(3), ideal = 2/log2(2) + 1/log2(3)
    ndcg_a = (1 + 2 / math.log2(3)) / (2 + 1 / math.log2(3))
    ndcg_b = (1 / math.log2(4)) / 1.0
    got = report.scores["hybrid"]
    assert got["fr"]["ndcg@10"] == pytest.approx(ndcg_a)
    assert got["en"]["ndcg@10"] == pytest.approx(ndcg_b)
    assert got["all"]["ndcg@10"] == pytest.approx((ndcg_a + ndcg_b) / 2)
    assert got["all"]["mrr@10"] == pytest.approx((1 + 1 / 3) / 2)
    assert got["all"]["recall@10"] == pytest.approx(1.0)
    assert report.scores["bm25"]["all"]["recall@10"] == pytest.approx(0.5)  # a: 0/2, b: 1/1
    assert report.per_query["hybrid"]["a"] == pytest.approx(ndcg_a, abs=1e-4)
    # the paired test compares hybrid with bm25 on the judged queries only
    pairs = [c for c in report.comparisons if c.subset == "all" and c.metric == "ndcg@10"]
    assert len(pairs) == 1 and pairs[0].baseline == "bm25" and 0.0 <= pairs[0].p_value <= 1.0


def test_ranx_agrees_with_ir_measures():
    """Parity with a second implementation on the same hand-made data."""
    ir_measures = pytest.importorskip("ir_measures")
    bench = _tiny()
    run = {"a": {"d2": 3.0, "d1": 2.0, "x": 1.0}, "b": {"x": 3.0, "y": 2.0, "d3": 1.0}}
    report = evaluate(bench, [_run("hybrid", run)])
    from ir_measures import RR, R, nDCG

    theirs = ir_measures.calc_aggregate([nDCG @ 10, R @ 10, RR @ 10], bench.qrels, run)
    ours = report.scores["hybrid"]["all"]
    assert ours["ndcg@10"] == pytest.approx(theirs[nDCG @ 10])
    assert ours["recall@10"] == pytest.approx(theirs[R @ 10])
    assert ours["mrr@10"] == pytest.approx(theirs[RR @ 10])


def test_scope_signal_counts():
    bench = _tiny()
    run = _run(
        "hybrid", {"a": {"d1": 1.0}, "b": {"d3": 1.0}, "z": {"d1": 1.0}}, no_match={"a": False, "b": True, "z": True}
    )
    stats = {s.subset: s for s in evaluate(bench, [run]).scope}
    assert (stats["all"].fired_on_out_of_scope, stats["all"].out_of_scope_queries) == (1, 1)
    assert (stats["all"].fired_on_in_scope, stats["all"].in_scope_queries) == (1, 2)
    assert stats["en"].false_alarm_rate == pytest.approx(1.0)
    assert stats["fr"].false_alarm_rate == pytest.approx(0.0)


# -- the generic baseline ---------------------------------------------------------------


def test_windows_have_fixed_size_and_overlap():
    text = " ".join(f"mot{i}" for i in range(2000))
    ws = windows("d", text, size=1000, overlap=200)
    assert all(len(w.text) <= 1000 for w in ws)
    assert ws[0].start == 0 and ws[-1].end == len(text)
    for prev, nxt in zip(ws, ws[1:]):
        assert 150 <= prev.end - nxt.start <= 200  # overlap, moved forward to a word start
        assert text[nxt.start - 1] == " "


def _chunk(cid: str, text: str, order: int) -> Chunk:
    return Chunk(id=cid, doc_id="d", text=text, lang="fr", citation=cid, kind="paragraph", order=order)


def test_mapping_locates_chunks_and_first_occurrence_wins():
    parts = [
        ("d:1", "Premier paragraphe " * 20),
        ("d:2", "Deuxième, « différent » " * 25),
        ("d:3", "Troisième bloc " * 30),
    ]
    text = "Titre\n\n" + "\n\n".join(t for _, t in parts)
    chunks = [_chunk(cid, t.strip().replace("«", '"'), i) for i, (cid, t) in enumerate(parts)]
    spans, unlocated, _ = locate(text, chunks)
    assert unlocated == [] and [s.chunk_id for s in spans] == ["d:1", "d:2", "d:3"]
    ws = windows("d", text, size=500, overlap=100)
    covers = map_windows(ws, spans)
    assert all(covers[w.id] for w in ws)
    ranking = to_chunk_ranking([ws[-1].id, ws[0].id], covers, depth=10)
    assert list(ranking)[0] == covers[ws[-1].id][0]
    assert len(ranking) == len(set(ranking)) and list(ranking.values()) == sorted(ranking.values(), reverse=True)


class _HashEncoder:
    """Deterministic bag-of-words vectors: enough to test the plumbing, no model needed."""

    dim = 64

    def _vec(self, text: str) -> np.ndarray:
        v = np.zeros(self.dim, np.float32)
        for word in text.lower().split():
            v[int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
        return v / (np.linalg.norm(v) or 1.0)

    def embed_queries(self, texts):
        return np.stack([self._vec(t) for t in texts])

    embed_documents = embed_queries


def test_generic_baseline_ranks_the_window_holding_the_answer():
    chunks = [
        _chunk("d:1", "les inondations et les alertes précoces " * 10, 0),
        _chunk("d:2", "le budget participatif et les finances " * 10, 1),
        _chunk("d:3", "les compétences numériques des agents " * 10, 2),
    ]
    text = "\n\n".join(c.text for c in chunks)
    baseline = GenericBaseline.build({"d": text}, chunks, _HashEncoder(), size=400, overlap=80)
    assert baseline.mapping.unlocated == ()
    ranking = baseline.search(_HashEncoder().embed_queries(["budget participatif finances"]), depth=3)[0]
    assert next(iter(ranking)) == "d:2"
    assert set(ranking) == {"d:1", "d:2", "d:3"}


# -- the harness end to end ---------------------------------------------------------------

SUBSET = ("n45-fr", "n45-en", "n21-fr", "n21-en", "n38-en", "n61-fr", "x02-fr", "x05-en")


@pytest.mark.slow
def test_harness_on_a_subset_writes_every_output(data_dir, tmp_path):
    from boussole.eval.harness import EvalConfig, run_evaluation

    config = EvalConfig(
        data_dir=data_dir, out_dir=tmp_path / "out", query_ids=SUBSET, generic_cache_dir=tmp_path / "cache"
    )
    outcome = run_evaluation(config)
    out = tmp_path / "out"
    for name in ("bm25", "dense", "hybrid", "originals", "generic"):
        lines = (out / "runs" / f"{name}.trec").read_text().splitlines()
        assert {line.split()[0] for line in lines} == set(SUBSET)
        assert all(len(line.split()) == 6 for line in lines)
    report = json.loads((out / "report.json").read_text())
    for system, subsets in report["scores"].items():
        for subset, metrics in subsets.items():
            assert all(math.isfinite(v) and 0.0 <= v <= 1.0 for v in metrics.values()), (system, subset)
    assert {k: report["query_counts"][k] for k in ("all", "fr", "en")} == {"all": 6, "fr": 3, "en": 3}
    assert report["query_counts"]["held-out"] == sum(
        int("".join(ch for ch in q if ch.isdigit())) % 2 == 0 for q in SUBSET if not q.startswith("x")
    )
    assert {c["baseline"] for c in report["comparisons"]} == {"bm25", "dense", "originals", "generic"}
    assert any(s["system"] == "hybrid" and s["out_of_scope_queries"] == 2 for s in report["scope"])
    assert (out / "report.md").read_text().startswith("# Boussole retrieval evaluation")
    assert (out / "chart.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert outcome.notes["generic"]["unlocated_chunks"] == []


def test_halves_split_needs_by_number():
    from boussole.eval.benchmark import half_of

    assert [half_of(n) for n in ("n01", "n02", "n45", "n38", "x03")] == [
        "tuning",
        "held-out",
        "tuning",
        "held-out",
        "tuning",
    ]
