"""What a fresh install gets: every application package, importable away from the repository."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.conftest import REPO

NOT_SHIPPED = {"tests", "benchmarks"}


def test_every_top_level_package_is_in_the_distribution() -> None:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    included = {p.rstrip("*") for p in config["tool"]["setuptools"]["packages"]["find"]["include"]}
    packages = {p.parent.name for p in REPO.glob("*/__init__.py")} - NOT_SHIPPED
    assert packages <= included, f"not packaged: {sorted(packages - included)}"


def test_the_installed_command_imports_every_part_outside_the_repository(tmp_path: Path) -> None:
    reviews = shutil.which("reviews", path=str(Path(sys.executable).parent))
    assert reviews is not None, "the reviews console script is not installed"
    code = "import portal.app, case_reviews.demo, case_reviews.simulation.run, deployments.serve"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    help_text = subprocess.run(
        [reviews, "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert help_text.returncode == 0 and "timeline" in help_text.stdout
