"""The base of the project's errors. Every layer derives its own from it (ingest's
IngestError, index's IndexNotFound …); the CLI and the HTTP API map them to messages in
one place each."""


class BoussoleError(Exception):
    """Base class: a problem the user can act on (bad input, missing index, ...)."""
