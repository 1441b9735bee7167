"""One evaluation run, end to end: benchmark → index (reused or built) → systems → report.

from boussole.eval.harness import EvalConfig, run_evaluation
outcome = run_evaluation(EvalConfig(data_dir=Path("data")))
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from boussole.eval.benchmark import BENCHMARK_DIR, Benchmark, BenchmarkError, load_benchmark, validate
from boussole.eval.report import Report, evaluate, require_tools, write_outputs
from boussole.eval.runs import DEPTH, SYSTEMS, QueryVectorCache, SystemRun, run_systems
from boussole.index.backends.factory import BackendChoice

Progress = Callable[[str], None]


@dataclass(frozen=True)
class EvalConfig:
    data_dir: Path = Path("data")
    corpus_dir: Path = Path("corpus")
    model: str = "multilingual-e5-small-problems"  # the service's default (service.settings)
    out_dir: Path | None = None  # default: {data_dir}/eval
    benchmark_dir: Path = BENCHMARK_DIR
    systems: tuple[str, ...] = SYSTEMS
    query_ids: tuple[str, ...] = ()  # empty: all queries
    limit: int | None = None  # first N queries (file order) after the query_ids filter
    depth: int = DEPTH
    stat_test: str = "student"  # ranx: "student", "fisher" (randomization), "wilcoxon", ...
    alpha: float = 0.05
    window_size: int = 1000
    window_overlap: int = 200
    generic_cache_dir: Path | None = None  # default: {data_dir}/cache/eval-generic
    backend: BackendChoice = BackendChoice()  # milvus: the data folder's index is published there first
    answers: bool = True  # also score /v1/recommend's answers (eval.answers) on a full run

    @property
    def output_dir(self) -> Path:
        return self.out_dir or self.data_dir / "eval"


@dataclass
class EvalOutcome:
    report: Report
    runs: list[SystemRun]
    paths: dict[str, Path]
    benchmark: Benchmark
    notes: dict[str, object] = field(default_factory=dict)
    answers: list = field(default_factory=list)  # eval.answers.AnswerRow: the answer benchmark, held-out first
    reader: str = ""  # eval.answers.reader_table: the answer beside a second judge's, on the problems they read


def select(benchmark: Benchmark, query_ids: Sequence[str] = (), limit: int | None = None) -> Benchmark:
    ids = list(query_ids) if query_ids else list(benchmark.queries)
    if limit is not None:
        ids = ids[: max(0, limit)]
    return benchmark.subset(ids)


def run_evaluation(config: EvalConfig, progress: Progress | None = None, embedder=None) -> EvalOutcome:
    """Run the configured systems over the (selected) benchmark and write every output."""
    from boussole.index import store
    from boussole.index.backends.factory import create_backend
    from boussole.index.builder import build_index, is_fresh
    from boussole.index.cache import EmbeddingCache
    from boussole.index.encoders.base import passage_precision
    from boussole.index.encoders.factory import load_encoder
    from boussole.index.searcher import Searcher
    from boussole.ingest.pipeline import document_text, ingest_corpus

    require_tools()
    say = progress or (lambda _m: None)
    started = time.perf_counter()
    benchmark = select(load_benchmark(config.benchmark_dir), config.query_ids, config.limit)
    ingested = ingest_corpus(config.corpus_dir)
    problems = validate(load_benchmark(config.benchmark_dir), (c.id for c in ingested.chunks))
    if problems:
        raise BenchmarkError(
            "the benchmark does not match the current chunks (re-judge or run `python -m boussole.eval.benchmark build`):\n  "
            + "\n  ".join(problems[:20])
        )
    models_dir = config.data_dir / "models"
    index_dir = config.data_dir / "index"
    cache_dir = config.data_dir / "cache"
    embedder = QueryVectorCache(embedder or load_encoder(config.model, models_dir, progress=say))
    notes: dict[str, object] = {"model": embedder.model_id, "chunks": len(ingested.chunks), "depth": config.depth}
    needs_index = any(s != "generic" for s in config.systems)
    searcher = None
    if needs_index:
        passages = passage_precision(embedder)
        if not is_fresh(index_dir, ingested.chunks, ingested.documents, embedder.fingerprint, passages=passages):
            say(f"index at {index_dir} is missing or stale: building it")
            build_index(ingested.chunks, ingested.documents, embedder, index_dir, cache_dir, progress=say)
            notes["index"] = "built in this run"
        else:
            notes["index"] = "reused"
        backend = create_backend(config.backend, index_dir)
        published = backend.publish(store.resolve(index_dir))
        if published is not None:
            notes["milvus"] = {"collection": published.collection, "rows": published.rows}
        searcher = Searcher.open_served(backend, models_dir, encoders=lambda _manifest: (embedder, None))
        notes["backend"] = config.backend.name
    baseline = None
    if "generic" in config.systems:
        from boussole.eval.generic import GenericBaseline

        say("generic baseline: fixed-size windows over document_text, embedding (cached)")
        t0 = time.perf_counter()
        texts = {d.id: document_text(d, config.corpus_dir) for d in ingested.documents}
        cache = EmbeddingCache.for_model(config.generic_cache_dir or cache_dir / "eval-generic", embedder.fingerprint)
        baseline = GenericBaseline.build(
            texts, ingested.chunks, embedder, cache, config.window_size, config.window_overlap
        )
        covers = baseline.mapping.covers.values()
        notes["generic"] = {
            "windows": len(baseline.windows),
            "size": config.window_size,
            "overlap": config.window_overlap,
            "chunks_per_window_mean": round(statistics.mean(len(c) for c in covers), 2) if covers else 0,
            "chunks_per_window_max": max((len(c) for c in covers), default=0),
            "unlocated_chunks": list(baseline.mapping.unlocated),
            "anchored_chunks": list(baseline.mapping.anchored),
            "build_seconds": round(time.perf_counter() - t0, 1),
        }
    queries = list(benchmark.queries.values())
    if any(s != "bm25" for s in config.systems):
        t0 = time.perf_counter()
        embedder.prime([q.text for q in queries])
        notes["query_embedding_seconds"] = round(time.perf_counter() - t0, 1)
    originals = {c.key: c.id for c in ingested.chunks if c.translation is None}
    original_of = {c.id: originals.get(c.key, c.id) for c in ingested.chunks}
    runs = run_systems(config.systems, queries, searcher, embedder, baseline, config.depth, say, original_of)
    report = evaluate(benchmark, runs, stat_test=config.stat_test, alpha=config.alpha)
    answers, reader = [], ""
    if searcher is not None and config.answers and not config.query_ids and config.limit is None:
        from boussole.eval import answers as answer_set

        problems = answer_set.load_problems()
        errors = answer_set.check_problems(problems, ingested.chunks)
        if errors:
            raise BenchmarkError("answers.toml does not match the current chunks:\n  " + "\n  ".join(errors[:20]))
        say(f"composing the answers to {len(problems)} problems (eval/benchmark/answers.toml)")
        scores = answer_set.run(problems, answer_set.compose_with(searcher))
        answers = answer_set.summarise(scores)
        readings = answer_set.load_second_readings()
        errors = answer_set.check_second_readings(readings, problems, ingested.chunks)
        if errors:
            raise BenchmarkError("answers_second.toml does not match answers.toml:\n  " + "\n  ".join(errors[:20]))
        reader = answer_set.reader_table(scores, answer_set.reader_scores(problems, readings))
    notes["total_seconds"] = round(time.perf_counter() - started, 1)
    report.notes = notes
    paths = write_outputs(report, runs, config.output_dir)
    return EvalOutcome(report, runs, paths, benchmark, notes, answers, reader)
