"""`boussole eval` and `boussole export-beir`: a thin layer over the `eval` package.

Plugged into the `boussole` command by the `boussole.commands` entry point (pyproject.toml):
the evaluation sits above the service, which never imports it. Only click and the CLI's
shared options are imported here; the evaluation itself loads inside the commands.
"""

from __future__ import annotations

from pathlib import Path

import click

from boussole.service.cli.options import backend_options, corpus_dir_option, data_dir_option, model_option
from boussole.service.cli.progress import ProgressReporter

SYSTEM_NAMES = ("bm25", "dense", "hybrid", "originals", "generic")


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(v.strip() for value in values for v in value.split(",") if v.strip())


@click.command("eval")
@click.option(
    "--system",
    "systems",
    multiple=True,
    help="bm25, dense, hybrid, originals (the hybrid over the authoritative texts only, without "
    "their translations), generic (repeatable or comma-separated; default: all five).",
)
@click.option("--queries", "query_ids", multiple=True, help="Only these query ids (repeatable or comma-separated).")
@click.option("--limit", type=int, default=None, help="Only the first N queries (after --queries).")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="Output folder for runs, report.json, report.md, chart.png (default DATA_DIR/eval).",
)
@click.option(
    "--benchmark",
    "benchmark_dir",
    type=click.Path(path_type=Path, file_okay=False, exists=True),
    default=None,
    help="BEIR folder with queries.jsonl and qrels/test.tsv (default: eval/benchmark).",
)
@click.option(
    "--test",
    "stat_test",
    default="student",
    show_default=True,
    type=click.Choice(["student", "fisher", "wilcoxon"]),
    help="Paired significance test (ranx).",
)
@data_dir_option
@corpus_dir_option
@model_option
@backend_options
def eval_cmd(
    systems, query_ids, limit, out_dir, benchmark_dir, stat_test, data_dir, corpus_dir, model, backend, milvus_uri
) -> None:
    """Run the retrievers over the judged benchmark and report nDCG@10, Recall@10/50, MRR@10
    per language, the no-good-match signal on out-of-scope queries, and paired tests of the
    hybrid against each baseline. Reuses the index in DATA_DIR (built if missing or stale)."""
    from boussole.errors import BoussoleError
    from boussole.eval.benchmark import BENCHMARK_DIR, BenchmarkError
    from boussole.eval.harness import EvalConfig, run_evaluation
    from boussole.eval.report import text_table
    from boussole.service.settings import Settings

    settings = Settings.from_env(
        data_dir=data_dir, corpus_dir=corpus_dir, model=model, backend=backend, milvus_uri=milvus_uri
    )
    try:
        choice = settings.backend_choice
    except BoussoleError as exc:
        raise click.ClickException(str(exc)) from exc
    chosen = _split(systems) or SYSTEM_NAMES
    unknown = [s for s in chosen if s not in SYSTEM_NAMES]
    if unknown:
        raise click.BadParameter(
            f"unknown system(s) {', '.join(unknown)}; choose from {', '.join(SYSTEM_NAMES)}", param_hint="--system"
        )
    config = EvalConfig(
        data_dir=settings.data_dir,
        corpus_dir=settings.corpus_dir,
        model=settings.model,
        out_dir=out_dir,
        benchmark_dir=benchmark_dir or BENCHMARK_DIR,
        systems=tuple(chosen),
        query_ids=_split(query_ids),
        limit=limit,
        stat_test=stat_test,
        backend=choice,
    )
    try:
        with ProgressReporter() as progress:
            outcome = run_evaluation(config, progress=progress)
    except (BenchmarkError, BoussoleError) as exc:
        raise click.ClickException(str(exc)) from exc
    report = outcome.report
    click.echo(
        "Figures to quote: the held-out half (held-out, held-out-fr, held-out-en); no tuned number "
        "looked at it. 'all', 'fr' and 'en' mix in the tuning half.\n"
    )
    if outcome.answers:
        from boussole.eval.answers import text_table as answer_table

        click.echo("The answer (/v1/recommend, shown in the problem's language) on eval/benchmark/answers.toml:")
        click.echo(answer_table(outcome.answers) + "\n")
        if outcome.reader:
            click.echo(
                "The same answer beside a second judge's, on the problems they read (eval/benchmark/answers_second.toml):"
            )
            click.echo(outcome.reader + "\n")
        click.echo("The ranking (passages) on eval/benchmark/queries.jsonl:")
    click.echo(text_table(report))
    lost = report.not_beaten()
    if lost:
        click.echo("\nhybrid does not beat:")
        for c in lost:
            click.echo(
                f"  {c.baseline:<8} {c.subset:<3} {c.metric:<10} hybrid {c.reference_score:.3f} vs "
                f"{c.baseline_score:.3f} (p={c.p_value:.3f})"
            )
    weak = report.not_significant_wins()
    if weak:
        click.echo(f"\nhybrid higher but not significantly (p >= {report.alpha}):")
        for c in weak:
            click.echo(
                f"  {c.baseline:<8} {c.subset:<3} {c.metric:<10} hybrid {c.reference_score:.3f} vs "
                f"{c.baseline_score:.3f} (p={c.p_value:.3f})"
            )
    topics = report.topics_not_beaten()
    if topics:
        click.echo("\ntopics where a baseline has the higher nDCG@10:")
        for topic, baseline, hybrid, value in topics:
            click.echo(f"  {topic:<15} {baseline:<8} {value:.3f} vs hybrid {hybrid:.3f}")
    for s in report.scope:
        if s.subset == "all":
            click.echo(
                f"\nno-good-match signal ({s.system}): fired on {s.fired_on_out_of_scope}/{s.out_of_scope_queries} "
                f"out-of-scope queries, wrongly on {s.fired_on_in_scope}/{s.in_scope_queries} in-scope queries"
            )
    for name, hub in report.hubness.items():
        click.echo(f"most frequent passage in top-10 lists ({name}): {hub.chunk_id}, {hub.share:.0%} of judged queries")
    click.echo(
        f"\nreport: {outcome.paths['markdown']}  chart: {outcome.paths['chart']}  runs: {config.output_dir / 'runs'}"
    )


@click.command("export-beir")
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False))
@data_dir_option
@corpus_dir_option
def export_beir(directory, data_dir, corpus_dir) -> None:
    """Write the current chunks as a BEIR dataset in DIRECTORY (corpus.jsonl) with the judged
    queries.jsonl and qrels/test.tsv, loadable by BEIR, MTEB custom tasks and ir-measures."""
    from boussole.eval.benchmark import load_benchmark, validate, write_beir
    from boussole.ingest.pipeline import ingest_corpus
    from boussole.service.settings import Settings

    settings = Settings.from_env(data_dir=data_dir, corpus_dir=corpus_dir)
    chunks = ingest_corpus(settings.corpus_dir).chunks
    benchmark = load_benchmark()
    problems = validate(benchmark, (c.id for c in chunks))
    write_beir(directory, chunks, benchmark)
    click.echo(
        f"{len(chunks)} chunks, {len(benchmark.queries)} queries, "
        f"{sum(len(d) for d in benchmark.qrels.values())} judgments → {directory}"
    )
    if problems:
        click.echo(
            f"warning: {len(problems)} qrels problem(s) against the current chunks, e.g. {problems[0]}", err=True
        )


COMMANDS: list = [eval_cmd, export_beir]
