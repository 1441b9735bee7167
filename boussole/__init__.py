"""Boussole: UN-Habitat's people-centred smart city guidance for a city's problem, offline.

Every layer is installed under this one name, so none collides with another package:
`boussole.ingest` (corpus → chunks), `boussole.index` (chunks → index → ranked passages),
`boussole.service` (CLI, HTTP API, web page, MCP) and `boussole.eval` on top. In a source
checkout the layers stay in the folders the project keeps at its top level (`ingest/`,
`index/`, `service/`, `eval/`); the wheel maps them under `boussole/` (pyproject.toml). See
docs/architecture.md.
"""

from pathlib import Path as _Path

# In a source checkout (this file in `<root>/boussole/`), the layers are `<root>/ingest` …:
# look there too, so a checkout imports its own code whether or not (and wherever) it is
# installed. An installed wheel has them beside this file and never takes this branch.
_root = _Path(__file__).resolve().parent.parent
if (_root / "ingest" / "__init__.py").is_file() and not (_Path(__file__).parent / "ingest").exists():
    __path__.append(str(_root))  # noqa: F821 - the package's own search path
del _Path, _root
