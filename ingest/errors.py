"""Ingest-layer errors, subclasses of the project's BoussoleError."""

from boussole.errors import BoussoleError


class IngestError(BoussoleError):
    """A document could not be read or parsed. Always names the file and the reason."""

    def __init__(self, path: str, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason
