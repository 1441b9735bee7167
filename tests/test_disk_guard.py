"""The suite's free-space check (tests/conftest.py), run as a person runs pytest: in a process
of its own, on real test files, with the floor set above or below what the disk has."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SLOW_TEST = "tests/test_api.py::test_health_and_readiness"  # reaches the real server
FAST_TEST = "tests/test_filters.py::test_actor_all_is_no_restriction"


def _pytest(tmp_path: Path, test: str, floor_gb: str) -> subprocess.CompletedProcess[str]:
    """pytest on one test, with BOUSSOLE_TEST_FREE_GB set to `floor_gb`."""
    env = {**os.environ, "BOUSSOLE_TEST_FREE_GB": floor_gb}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--basetemp", str(tmp_path / "inner"), test],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_disk_too_small_for_the_model_stops_before_the_first_test(tmp_path):
    free_gb = shutil.disk_usage(tmp_path).free / 1e9
    run = _pytest(tmp_path, SLOW_TEST, str(free_gb * 2 + 1))
    assert run.returncode == 4, run.stdout + run.stderr
    said = run.stdout + run.stderr
    assert "GB free under" in said and "make test-fast" in said
    assert str(tmp_path) in said  # the folder that is short, not the one --basetemp will create
    assert "passed" not in said and "error" not in said.lower()


def test_the_fast_suite_runs_whatever_the_disk_has(tmp_path):
    free_gb = shutil.disk_usage(tmp_path).free / 1e9
    run = _pytest(tmp_path, FAST_TEST, str(free_gb * 2 + 1))
    assert run.returncode == 0, run.stdout + run.stderr
    assert "1 passed" in run.stdout


def test_a_floor_that_is_not_a_number_is_named(tmp_path):
    run = _pytest(tmp_path, SLOW_TEST, "lots")
    assert run.returncode == 4, run.stdout + run.stderr
    assert "BOUSSOLE_TEST_FREE_GB must be a number of gigabytes, not 'lots'" in run.stdout + run.stderr
