"""Imports point down only (docs/architecture.md): read from every module's own imports."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = {
    "boussole": "boussole",
    "boussole.ingest": "ingest",
    "boussole.index": "index",
    "boussole.service": "service",
    "boussole.eval": "eval",
}

# What each package may import of the project, most specific prefix first (the table in
# docs/architecture.md). A module may always import its own package.
ALLOWED = {
    "boussole.index.encoders": (
        "boussole.index.encoders",
        "boussole.index.errors",
        "boussole.errors",
        "boussole.atomic",
        "boussole.language",
    ),
    "boussole.index.backends": (
        "boussole.index",
        "boussole.ingest",
        "boussole.errors",
        "boussole.atomic",
        "boussole.language",
    ),
    "boussole.eval": ("boussole",),
    "boussole.service": (
        "boussole.service",
        "boussole.index",
        "boussole.ingest",
        "boussole.errors",
        "boussole.atomic",
        "boussole.language",
    ),
    "boussole.index": ("boussole.index", "boussole.ingest", "boussole.errors", "boussole.atomic", "boussole.language"),
    "boussole.ingest": ("boussole.ingest", "boussole.errors", "boussole.atomic", "boussole.language"),
    "boussole": ("boussole.errors", "boussole.atomic", "boussole.language"),
}
FORBIDDEN_IN = {"boussole.index.backends": ("boussole.index.searcher",)}
# Within the service, the MCP server is below the app and the CLI: it must not import them.
FORBIDDEN_IN["boussole.service.mcp"] = ("boussole.service.app", "boussole.service.cli")


def _modules():
    for package, folder in FOLDERS.items():
        base = ROOT / folder
        files = [base / "__init__.py", *base.glob("*.py")] if package == "boussole" else base.rglob("*.py")
        for path in sorted(set(files)):
            parts = path.relative_to(base).with_suffix("").parts
            parts = parts[:-1] if parts[-1] == "__init__" else parts
            yield ".".join((package, *parts)), path


def _imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.lineno, node.module
        elif isinstance(node, ast.Import):
            for alias in node.names:
                yield node.lineno, alias.name


def _rule(module: str, table: dict) -> tuple[str, ...]:
    owner = max((p for p in table if module == p or module.startswith(p + ".")), key=len, default=None)
    return table[owner] if owner else ()


def _within(name: str, prefixes) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_every_import_of_the_project_points_down():
    wrong = []
    for module, path in _modules():
        allowed, forbidden = _rule(module, ALLOWED), _rule(module, FORBIDDEN_IN)
        for line, name in _imports(path):
            if not name.startswith("boussole"):
                continue
            if not _within(name, allowed) or _within(name, forbidden):
                wrong.append(f"{path.relative_to(ROOT)}:{line}: {module} imports {name}")
    assert not wrong, "imports against docs/architecture.md:\n" + "\n".join(wrong)


def test_the_rules_see_every_layer():
    """The walk above finds modules in every layer (a renamed folder would silently pass)."""
    found = {module.split(".")[1] if "." in module else module for module, _ in _modules()}
    assert {"boussole", "ingest", "index", "service", "eval"} <= found
