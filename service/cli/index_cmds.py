"""`boussole build`, `boussole search` and `boussole index status|rollback`."""

from __future__ import annotations

import json
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor

import click

from boussole.service.cli.errors import handle_errors
from boussole.service.cli.options import backend_options, corpus_dir_option, data_dir_option, model_option
from boussole.service.cli.progress import ProgressReporter
from boussole.service.settings import Settings


@click.command()
@data_dir_option
@corpus_dir_option
@model_option
@backend_options
@click.option("--force", is_flag=True, help="Rebuild even when the index is up to date.")
@handle_errors
def build(data_dir, corpus_dir, model, backend, milvus_uri, force) -> None:
    """Ingest the corpus, build the model if missing, and (re)build the index if stale.

    A new index is a new version swapped in atomically; a running `boussole serve` picks it
    up. Two builds on one data folder never interleave: the second is refused.

    With `--backend milvus`, the version is then copied into a new Milvus collection and
    the alias switched to it in one step; replicas serving the alias pick it up.
    """
    from boussole.index import store
    from boussole.index.backends.factory import create_backend

    settings = Settings.from_env(
        data_dir=data_dir, corpus_dir=corpus_dir, model=model, backend=backend, milvus_uri=milvus_uri
    )
    chosen = create_backend(settings.backend_choice, settings.index_dir)
    try:
        with store.build_lock(settings.index_dir):
            store.recover(settings.index_dir)
            with ProgressReporter() as progress:
                _build_locked(settings, force, progress)
            published = chosen.publish(store.resolve(settings.index_dir))
    except OSError as exc:
        if exc.filename is None:  # a failed write() names no file: say at least which folder
            exc.filename = str(settings.data_dir)
        raise
    if published is not None:
        click.echo(published.summary())


def _build_locked(settings: Settings, force: bool, progress: ProgressReporter) -> None:
    from boussole.index.builder import build_index, is_fresh
    from boussole.index.encoders.factory import ready_fingerprint, ready_passage_precision
    from boussole.ingest.pipeline import alignment_errors, ingest_corpus, write_chunks

    with ThreadPoolExecutor(1, thread_name_prefix="boussole-load") as pool:
        # --force rebuilds whatever the corpus says: load the model (about a second, mostly
        # outside the interpreter lock) while the corpus is read.
        loading = pool.submit(_load_encoder, settings, progress) if force else None
        report = ingest_corpus(settings.corpus_dir)
        misaligned = alignment_errors(report)
        if misaligned:  # serving a version that cites the wrong paragraphs is worse than no build
            raise click.ClickException(f"{misaligned[0]} (nothing was built; the index served is unchanged)")
        for error in report.errors:
            click.echo(f"warning: skipped {error}", err=True)
        write_chunks(report, settings.chunks_path, settings.documents_path)
        progress(f"{len(report.chunks)} chunks from {len(report.documents)} documents")
        fingerprint = ready_fingerprint(settings.model, settings.models_dir)
        passages = ready_passage_precision(settings.model)
        if (
            not force
            and fingerprint
            and is_fresh(settings.index_dir, report.chunks, report.documents, fingerprint, passages=passages)
        ):
            click.echo(f"index up to date: {settings.index_dir} ({len(report.chunks)} chunks)")
            return
        embedder = loading.result() if loading is not None else _load_encoder(settings, progress)
    result = build_index(
        report.chunks,
        report.documents,
        embedder,
        settings.index_dir,
        settings.cache_dir,
        progress=progress,
        locked=True,
    )
    click.echo(
        f"index built: {settings.index_dir} ({result.manifest.chunk_count} chunks, "
        f"{result.embedded} embedded, {result.reused} from cache, {result.seconds:.1f} s)"
    )


def _load_encoder(settings: Settings, progress: ProgressReporter):
    from boussole.index.encoders.factory import load_encoder

    return load_encoder(settings.model, settings.models_dir, progress=progress)


@click.command()
@click.argument("query")
@click.option("-k", "k", default=10, show_default=True, help="How many results.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document with a `results` list.")
@click.option("--pillar", multiple=True, help="Restrict to a pillar (thematic-1 … enabling-4); repeatable.")
@click.option("--actor", multiple=True, help="national, local-regional, stakeholders or all; repeatable.")
@click.option("--doc", multiple=True, help="Document id (see `boussole chunks`); repeatable.")
@click.option("--kind", multiple=True, help="principle, measure, paragraph, definition, …; repeatable.")
@click.option("--lang", multiple=True, help="Only passages matched in this language (fr, en); repeatable.")
@click.option(
    "--answer-lang",
    default="auto",
    show_default=True,
    envvar="BOUSSOLE_ANSWER_LANG",
    help="Language to show passages in: auto (the question's), or fr, en, … when a version exists.",
)
@click.option("--mode", type=click.Choice(["hybrid", "dense", "bm25"]), default="hybrid", show_default=True)
@data_dir_option
@model_option
@backend_options
@handle_errors
def search(
    query, k, as_json, pillar, actor, doc, kind, lang, answer_lang, mode, data_dir, model, backend, milvus_uri
) -> None:
    """Find the guidance that answers QUERY, a problem in plain French or English."""
    _without_numba()
    from boussole.index.backends.factory import create_backend
    from boussole.index.filters import Filters
    from boussole.index.scope import assess_scope, has_words
    from boussole.index.searcher import Searcher
    from boussole.service.i18n import scope_reason

    settings = Settings.from_env(data_dir=data_dir, model=model, backend=backend, milvus_uri=milvus_uri)
    chosen = create_backend(settings.backend_choice, settings.index_dir)
    searcher = Searcher.open_served(
        chosen, settings.models_dir, model, lambda manifest: _encoders(manifest, settings, mode)
    )
    filters = Filters(doc=doc, kind=kind, pillar=pillar, actor=actor, lang=lang)
    result = searcher.search(query, k=k, filters=filters, mode=mode, answer_lang=answer_lang)
    scope = assess_scope(result)
    shown = result.answer_lang or result.query_lang
    reason = scope_reason(scope.reason, shown)
    if as_json:
        from boussole.service.schemas import SearchHit

        titles = {d.id: d.title for d in searcher.documents}
        payload = {
            "query": result.query,
            "query_lang": result.query_lang,
            "answer_lang": shown,
            "in_scope": scope.in_scope,
            "confidence": round(scope.confidence, 3),
            "scope_reason": reason,
            "took_ms": result.took_ms,
            "results": [SearchHit.from_hit(hit, titles).model_dump() for hit in result.hits],
        }
        json.dump(payload, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
        return
    words = CLI_WORDS.get(shown, CLI_WORDS["en"])
    if not has_words(result.query):  # like the page: nothing to show for "§" or "12345"
        click.secho(reason, fg="yellow")
        return
    if not scope.in_scope:
        click.secho(f"{words['weak']} {reason}", fg="yellow")
    for hit in result.hits:
        chunk = hit.chunk
        labels = [chunk.kind] + [v for v in (chunk.pillar, chunk.actor) if v]
        click.secho(f"{hit.rank:>2}. {chunk.citation}", bold=True, nl=False)
        click.echo(f"  [{', '.join(labels)}]  score {hit.score:.4f}")
        click.echo(textwrap.indent(textwrap.fill(chunk.text, 96), "    "))
        if hit.original is not None:
            note = words[chunk.translation or "unofficial"].format(lang=hit.original.lang)
            click.secho(f"    ({note}: {hit.original.citation})", dim=True)
        if hit.duplicates:
            click.echo(f"    ({words['same']}: {', '.join(hit.duplicates)})")
    click.echo(f"({len(result.hits)} results, query in {result.query_lang}, {result.took_ms:.0f} ms)", err=True)


# What `boussole search` says around the passages, in the answer's language.
CLI_WORDS = {
    "en": {
        "weak": "Weak matches only.",
        "same": "same as",
        "unofficial": "unofficial translation; original ({lang})",
        "official": "official translation; original ({lang})",
    },
    "fr": {
        "weak": "Correspondances faibles seulement.",
        "same": "identique à",
        "unofficial": "traduction non officielle ; original ({lang})",
        "official": "traduction officielle ; original ({lang})",
    },
}


def _without_numba() -> None:
    """bm25s imports numba when it is installed (ranx, for `boussole eval`, brings it) for a
    retrieval backend Boussole never uses: index.lexical scores with bm25s' numpy code and
    ranks on its own, and indexes record `"backend": "numpy"`. Importing numba costs a cold
    `boussole search` 0.45 s (`python -X importtime -c "import numba"`, on a busy machine);
    a one-off search process marks it absent, so bm25s takes its numpy path, which is the one it uses anyway."""
    if "numba" not in sys.modules:
        sys.modules["numba"] = None  # type: ignore[assignment]  # `import numba` now raises ImportError


class _Loading:
    """An encoder still loading in another thread: the first attribute read waits for it
    (and raises its loading error, if any)."""

    def __init__(self, future) -> None:
        self._future = future

    def __getattr__(self, name: str):
        return getattr(self._future.result(), name)


def _encoders(manifest, settings: Settings, mode: str) -> tuple:
    """(e5, USE) for a one-off search, loading while this thread imports and reads the
    index: the e5 session in a thread (ONNX Runtime builds it outside the interpreter
    lock), USE's weights in another (mostly decompression), its tokenizer from the models
    folder's pickle. (None, None), as before, for keyword search or another model."""
    if mode == "bm25" or settings.model != manifest.model_id:
        return None, None  # the searcher loads the index's own
    from boussole.index.encoders.factory import load_encoder, load_second_encoder

    pool = ThreadPoolExecutor(1, thread_name_prefix="boussole-load")
    e5 = pool.submit(load_encoder, manifest.model_id, settings.models_dir, encoder=settings.encoder)
    pool.shutdown(wait=False)
    return _Loading(e5), load_second_encoder(settings.models_dir, preload=True)


@click.group("index")
def index_group() -> None:
    """Index versions: which one is served, and rolling back to the previous one."""


@index_group.command("status")
@data_dir_option
@handle_errors
def index_status(data_dir) -> None:
    """List the index versions kept in the data folder; * marks the one served."""
    from boussole.index import store

    settings = Settings.from_env(data_dir=data_dir)
    current = store.resolve(settings.index_dir)
    previous = store.previous_version(settings.index_dir)
    versions = store.list_versions(settings.index_dir)
    if not versions and not settings.index_dir.is_dir():
        raise click.ClickException(f"no index in {settings.data_dir}: run `boussole build` first")
    if settings.index_dir.is_dir() and not settings.index_dir.is_symlink():
        click.echo(f"* {settings.index_dir} (built before index versions; the next build moves it)")
    for version in reversed(versions):
        mark = "*" if version.path == current else " "
        note = "  (previous: `boussole index rollback` serves it)" if version.name == previous and mark == " " else ""
        click.echo(f"{mark} {version.name}  built {version.built_at}, {version.chunk_count} chunks{note}")


@index_group.command("rollback")
@data_dir_option
@handle_errors
def index_rollback(data_dir) -> None:
    """Serve the previous index version again (a second rollback undoes the first).

    A running `boussole serve` switches to it within seconds, without a restart.
    """
    from boussole.index import store

    settings = Settings.from_env(data_dir=data_dir)
    with store.build_lock(settings.index_dir):
        version = store.rollback(settings.index_dir)
    click.echo(f"now serving index {version.name} (built {version.built_at}, {version.chunk_count} chunks)")


COMMANDS = [build, search, index_group]
