"""The project's exception hierarchy. Every layer raises these; the CLI and the HTTP API
map them to messages in one place each."""


class BoussoleError(Exception):
    """Base class: a problem the user can act on (bad input, missing index, ...)."""


class IngestError(BoussoleError):
    """A document could not be read or parsed. Always names the file and the reason."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
