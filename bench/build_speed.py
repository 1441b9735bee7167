"""Full index build time of the shipped corpus, this tree against another, interleaved.

    python -m bench.build_speed [--baseline-tree DIR] [--rounds 3] [--models-dir data/models]

Each round runs `boussole build --force` once per tree, alternating which goes first, in a
fresh data folder with an empty embedding cache (every passage and calibration question
embedded) and the models already built (the folder's `models` is a link to
`--models-dir`). Prints each run's wall time and the build time the command reports, then
per tree the median and range: figures for this machine at this moment, not assertions.

A baseline tree is a checkout of another commit (`git worktree add /tmp/base main`); it runs
with this interpreter, its own code first on the path. Without one, only this tree runs.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent
REPORTED = re.compile(r"index built: .*?([0-9.]+) s\)")


def run_build(tree: Path, models_dir: Path) -> tuple[float, float | None]:
    """(wall seconds, seconds the build reports) of one cold-cache build with `tree`'s code."""
    with tempfile.TemporaryDirectory(prefix="boussole-build-speed-") as tmp:
        data = Path(tmp) / "data"
        data.mkdir()
        (data / "models").symlink_to(models_dir.resolve(), target_is_directory=True)
        env = {**os.environ, "PYTHONPATH": str(tree)}
        # Trees from before the `boussole` namespace name their CLI `service.cli`.
        code = (
            "import sys\ntry:\n    from boussole.service.cli import cli\nexcept ImportError:\n"
            "    from boussole.service.cli import cli\nsys.argv[0] = 'boussole'; cli()"
        )
        started = time.perf_counter()
        done = subprocess.run(
            [sys.executable, "-c", code, "build", "--force", "--data-dir", str(data)],
            cwd=tree,
            env=env,
            capture_output=True,
            text=True,
            timeout=600,
        )
        wall = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"build failed in {tree}:\n{done.stderr[-2000:]}")
    match = REPORTED.search(done.stdout)
    return wall, float(match.group(1)) if match else None


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline-tree", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--models-dir", type=Path, default=HERE / "data" / "models")
    args = parser.parse_args(argv)
    trees = {"this tree": HERE}
    if args.baseline_tree is not None:
        trees["baseline"] = args.baseline_tree.resolve()
    walls: dict[str, list[float]] = {name: [] for name in trees}
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    for round_ in range(args.rounds):
        names = list(trees) if round_ % 2 == 0 else list(reversed(trees))
        for name in names:
            wall, reported = run_build(trees[name], args.models_dir)
            walls[name].append(wall)
            print(
                f"round {round_ + 1}  {name:<10} wall {wall:6.1f} s  reported {reported} s  "
                f"(load {os.getloadavg()[0]:.2f})",
                flush=True,
            )
    for name, values in walls.items():
        print(
            f"{name:<10} median {statistics.median(values):6.1f} s  range {min(values):.1f}-{max(values):.1f} s  "
            f"over {len(values)} builds"
        )
    if len(trees) == 2:
        ratios = [a / b for a, b in zip(walls["this tree"], walls["baseline"])]
        print(f"this tree / baseline, per round: {', '.join(f'{r:.2f}' for r in ratios)}")


if __name__ == "__main__":
    main()
