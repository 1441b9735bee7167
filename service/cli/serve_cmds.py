"""`boussole serve`: the HTTP API and the web page, with uvicorn."""

from __future__ import annotations

import functools
import signal
import sys

import click

from boussole.service.cli.errors import handle_errors
from boussole.service.cli.logs import LIFESPAN_LOGGERS, configure_logging, held_back
from boussole.service.cli.options import backend_options, data_dir_option, model_option
from boussole.service.settings import Settings

# Well above the 300 half-open connections the service must survive, well below the
# process's file-descriptor limit; each open connection costs a few KiB.
LIMIT_CONCURRENCY = 1000
TIMEOUT_KEEP_ALIVE = 5
# How long a thread may hold the interpreter lock while another waits for it (Python's
# default is 5 ms). The event loop answers /healthz and /readyz between the search
# threads' and encoders' turns; with 1 ms its waits shrink and throughput does not move
# (bench.load, recommend and mix at c=8 and 32, 5 ms against 1 ms in one run: worst
# health check 61 against 41 ms, p99 28-37 against 17-27 ms, 37.9-54.7 against
# 38.1-56.0 req/s). Set by `boussole serve` only: it is the process's, not the app's.
SWITCH_INTERVAL = 0.001


def announcing_server(config, message: str, quiet: bool = True):
    """A uvicorn server that prints `message` once its socket accepts connections.

    uvicorn loads the app (our lifespan opens the index: seconds) before it listens; a
    message printed before `uvicorn.run` sent people to a port that refused them.
    `quiet`: the lifespan's INFO lines at start-up and shutdown are held back (that
    message and "stopped" say it).
    """
    import uvicorn

    quieted = LIFESPAN_LOGGERS if quiet else ()

    class AnnouncingServer(uvicorn.Server):
        async def startup(self, sockets=None) -> None:
            with held_back(quieted):
                await super().startup(sockets=sockets)
            if self.started and not self.should_exit:
                click.echo(message, err=True)

        async def shutdown(self, sockets=None) -> None:
            with held_back(quieted):
                await super().shutdown(sockets=sockets)

    return AnnouncingServer(config)


def stops_quietly(command):
    """Ctrl-C or SIGTERM ends `command` with one line and status 0: stopping a server is
    how it is meant to end, not an error (`make run` would report "Terminated").

    Both signals raise KeyboardInterrupt (SIGTERM, from a service manager, `make` or
    `kill`, by default kills; SIGINT may come in ignored from a background shell). uvicorn
    handles them while it runs, then raises the signal again once it has shut down: that
    is the KeyboardInterrupt caught here, instead of a death by signal or click's "Aborted!".
    """

    @functools.wraps(command)
    def wrapper(*args, **kwargs):
        for stop in (signal.SIGINT, signal.SIGTERM):
            signal.signal(stop, signal.default_int_handler)
        try:
            return command(*args, **kwargs)
        except KeyboardInterrupt:
            click.echo("Boussole stopped.", err=True)

    return wrapper


@click.command()
@click.option(
    "--host",
    default=None,
    envvar="BOUSSOLE_HOST",
    help="Interface to listen on (default 127.0.0.1; env BOUSSOLE_HOST).",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    envvar="BOUSSOLE_PORT",
    help="Port (default 8000; env BOUSSOLE_PORT).",
)
@data_dir_option
@model_option
@backend_options
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default="info",
    show_default=True,
)
@click.option(
    "--reload-interval",
    type=click.FloatRange(min=0),
    default=2.0,
    show_default=True,
    envvar="BOUSSOLE_RELOAD_SECONDS",
    help="Seconds between two checks for a newly built index, served without a restart (0: never).",
)
@handle_errors
@stops_quietly
def serve(
    host: str | None,
    port: int | None,
    data_dir,
    model: str | None,
    backend: str | None,
    milvus_uri: str | None,
    log_level: str,
    reload_interval: float,
) -> None:
    """Serve the API (/v1/..., docs at /docs) and the web page (/) over a built index.

    The index is opened before the server starts, so a missing or broken one is reported
    in one line; a later `boussole build` or `boussole index rollback` is picked up live.
    Ctrl-C or SIGTERM stops it (open requests get a few seconds), with status 0.
    """
    import uvicorn

    from boussole.index import store
    from boussole.index.backends.factory import create_backend
    from boussole.index.errors import IndexBusy
    from boussole.service.app import create_app, open_index

    settings = Settings.from_env(
        host=host, port=port, data_dir=data_dir, model=model, backend=backend, milvus_uri=milvus_uri
    )
    chosen = create_backend(settings.backend_choice, settings.index_dir)  # refuses milvus without a URI, in one line
    folder = chosen.folder  # None: the index is not served from local files
    if folder is not None and not folder.exists():  # no pointer: an old build was killed mid-swap
        try:
            with store.build_lock(folder):
                store.recover(folder)
        except (IndexBusy, OSError):
            pass  # a build is running (it leaves a pointer behind), or the folder is read-only
    if folder is not None and (not folder.is_dir() or not any(folder.iterdir())):
        raise click.ClickException(
            f"No index in {folder}: run `boussole build` first "
            "(or point --data-dir / BOUSSOLE_DATA_DIR at a built data folder)."
        )
    configure_logging(log_level)
    sys.setswitchinterval(SWITCH_INTERVAL)
    searcher = open_index(settings)  # before the server: a broken index is one error line
    where = chosen.served_from(searcher.version)
    config = uvicorn.Config(
        create_app(settings, preloaded=searcher, reload_interval=reload_interval or None),
        host=settings.host,
        port=settings.port,
        log_level=log_level,
        # Bounded resources under load and against slow clients (service/timeouts.py
        # bounds body reads): past LIMIT_CONCURRENCY open connections uvicorn answers
        # 503 at once; idle keep-alive connections are closed after TIMEOUT_KEEP_ALIVE s.
        limit_concurrency=LIMIT_CONCURRENCY,
        timeout_keep_alive=TIMEOUT_KEEP_ALIVE,
        timeout_graceful_shutdown=5,
    )
    url = f"http://{settings.host}:{settings.port}"
    ready = f"Boussole on {url}/ (API docs at {url}/docs, index {where}) — ready."
    server = announcing_server(config, ready, quiet=log_level != "debug")
    server.run()
    if not server.started:
        raise SystemExit(3)  # the index could not be loaded: the lifespan logged why


COMMANDS = [serve]
