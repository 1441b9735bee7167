"""The installed name and what the HTTP app pulls in: read from the code and a fresh interpreter."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ("ingest", "index", "service", "eval")
SOURCES = (*LAYERS, "boussole", "bench", "tests")


def _imported_modules(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
    return found


def test_code_imports_the_layers_only_under_the_boussole_name():
    """A bare `import index` would load a second copy of a module (and collide with any
    other package of that name), so every import goes through `boussole.`."""
    bare = [
        f"{path.relative_to(ROOT)}:{line}: {module}"
        for folder in SOURCES
        for path in sorted((ROOT / folder).rglob("*.py"))
        for line, module in _imported_modules(path)
        if module.split(".")[0] in LAYERS
    ]
    assert not bare, "imports without the boussole namespace:\n" + "\n".join(bare)


def test_the_app_loads_from_anywhere_without_heavy_or_evaluation_modules(tmp_path):
    """From a folder that is not the checkout: the installed name resolves, and the HTTP app
    imports none of the evaluation layer, torch, ranx, matplotlib or pandas."""
    code = (
        "import sys, boussole.service.app as app\n"
        "heavy = sorted(m for m in sys.modules if m.split('.')[0] in "
        "{'torch', 'sentence_transformers', 'ranx', 'matplotlib', 'pandas'} or m.startswith('boussole.eval'))\n"
        f"bare = sorted(m for m in sys.modules if m.split('.')[0] in {set(LAYERS)!r})\n"
        "print(app.__file__); print(heavy); print(bare)\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    where, heavy, bare = run.stdout.splitlines()
    assert Path(where).resolve().is_relative_to(ROOT), where
    assert heavy == "[]", heavy
    assert bare == "[]", bare


def test_the_evaluation_commands_plug_into_the_cli_from_their_own_layer():
    """`boussole eval` is declared by the eval layer (entry point), not imported by the service."""
    from click.testing import CliRunner

    from boussole.service.cli import cli, plugin_commands

    assert {name: command.callback.__module__ for name, command in plugin_commands().items()} == {
        "eval": "boussole.eval.cli",
        "export-beir": "boussole.eval.cli",
    }
    listed = CliRunner().invoke(cli, ["--help"])
    assert listed.exit_code == 0 and "eval " in listed.output and "export-beir" in listed.output
    helped = CliRunner().invoke(cli, ["eval", "--help"])
    assert helped.exit_code == 0 and "nDCG@10" in helped.output
