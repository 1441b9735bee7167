"""Index-layer errors, all subclasses of the project's BoussoleError."""

from boussole.errors import BoussoleError


class IndexNotFound(BoussoleError):
    """No index at the given path: run `boussole build` first."""


class IndexCorrupt(BoussoleError):
    """An index file is missing, truncated or inconsistent with the manifest."""


class IndexMismatch(BoussoleError):
    """The index was built with another model, schema or dimension than the one asked for."""


class ModelError(BoussoleError):
    """The embedding model could not be built or loaded."""


class QueryError(BoussoleError):
    """The query or its filters are invalid (empty, too long, unknown filter value)."""

    def __init__(self, message: str, field: str | None = None, valid: list[str] | None = None):
        super().__init__(message)
        self.field = field
        self.valid = valid or []


class FilterError(QueryError):
    """A filter names a value the index does not hold (index.filters checks them all)."""

    def __init__(self, name: str, unknown: list[str], valid: list[str]):
        super().__init__(
            f"unknown {name} {', '.join(map(repr, unknown))}: choose one of {', '.join(valid)}",
            field=f"filters.{name}",
            valid=valid,
        )


class ChunkNotFound(BoussoleError):
    """No chunk with that id in the index."""


class IndexBusy(BoussoleError):
    """Another build or rollback holds the data folder's lock."""
