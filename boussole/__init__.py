"""Boussole: UN-Habitat's people-centred smart city guidance for a city's problem, offline.

Every layer is installed under this one name, so none collides with another package:
`boussole.ingest` (corpus → chunks), `boussole.index` (chunks → index → ranked passages),
`boussole.service` (CLI, HTTP API, web page, MCP) and `boussole.eval` on top. In a source
checkout the layers stay in the folders the project keeps at its top level (`ingest/`,
`index/`, `service/`, `eval/`), and `boussole/` links to them, so that Python, the wheel and
type checkers all see one package. See docs/architecture.md.
"""
