"""What a fresh install gets: every application package, importable away from the repository.

The ``packaging`` tests build the real wheel (not the editable install the test run itself
uses), install it into a fresh virtualenv and run the ``reviews`` command from outside the
repository, so a module, template, rule pack or example left out of the wheel fails here.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import REPO

NOT_SHIPPED = {"tests", "benchmarks"}
# Never part of a build: the virtualenv, run state, caches and earlier build output.
NOT_SOURCES = (".venv", ".git", "var", "build", "dist", "*.egg-info", "*_cache", "__pycache__")


def _shipped_packages() -> list[str]:
    config = tomllib.loads((REPO / "pyproject.toml").read_text())
    include = config["tool"]["setuptools"]["packages"]["find"]["include"]
    return sorted(p.rstrip("*") for p in include)


def test_every_top_level_package_is_in_the_distribution() -> None:
    included = set(_shipped_packages())
    packages = {p.parent.name for p in REPO.glob("*/__init__.py")} - NOT_SHIPPED
    assert packages <= included, f"not packaged: {sorted(packages - included)}"


@pytest.mark.packaging  # two cold interpreters that import all of Prefect: ~6 s
def test_the_installed_command_imports_every_part_outside_the_repository(tmp_path: Path) -> None:
    reviews = shutil.which("reviews", path=str(Path(sys.executable).parent))
    assert reviews is not None, "the reviews console script is not installed"
    code = (
        "import portal.app, workspace.app, case_reviews.demo, case_reviews.simulation.run, "
        "deployments.serve"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    help_text = subprocess.run(
        [reviews, "--help"], cwd=tmp_path, capture_output=True, text=True, timeout=120
    )
    assert help_text.returncode == 0 and "timeline" in help_text.stdout


# --- the built wheel in a fresh virtualenv ----------------------------------------------------


@dataclass(frozen=True)
class Installed:
    wheel: Path
    venv: Path
    site_packages: Path
    outside: Path  # a working directory away from the repository
    env: dict[str, str]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            list(args), cwd=self.outside, env=self.env, capture_output=True, text=True, timeout=300
        )
        assert result.returncode == 0, f"{args}:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"
        return result

    def python(self, code: str) -> str:
        return self.run(str(self.venv / "bin" / "python"), "-c", code).stdout

    def reviews(self, *args: str) -> str:
        return self.run(str(self.venv / "bin" / "reviews"), *args).stdout


def _pip(*args: str) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, f"pip {args}:\n{result.stdout[-2000:]}\n{result.stderr[-3000:]}"


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Installed]:
    """The wheel built from a copy of the working tree, installed into a new virtualenv.

    The copy keeps setuptools' build/ and egg-info out of the working tree, and stale files
    from an earlier build/lib out of the wheel. Only the wheel is installed (``--no-deps``);
    the third-party dependencies come from this interpreter's site-packages through a plain
    path line in a .pth file, added after the install. Python does not run the .pth files of
    a directory named that way, so the editable install's finder, which would import our
    packages from the repository, stays off: our packages can only come from the wheel.
    """
    root = tmp_path_factory.mktemp("packaging")
    source = root / "source"
    shutil.copytree(REPO, source, ignore=shutil.ignore_patterns(*NOT_SOURCES))
    _pip("wheel", "--no-deps", "--quiet", "--wheel-dir", str(root / "wheels"), str(source))
    (wheel,) = (root / "wheels").glob("case_reviews-*.whl")

    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    _pip("--python", str(venv / "bin" / "python"), "install", "--no-deps", "--quiet", str(wheel))
    where = "import sysconfig; print(sysconfig.get_path('purelib'))"
    site_packages = Path(
        subprocess.run(
            [str(venv / "bin" / "python"), "-c", where], capture_output=True, text=True, check=True
        ).stdout.strip()
    )
    (site_packages / "_third_party_from_the_test_venv.pth").write_text(
        "\n".join(dict.fromkeys([sysconfig.get_path("purelib"), sysconfig.get_path("platlib")]))
        + "\n"
    )
    outside = root / "elsewhere"
    outside.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in {"PYTHONPATH", "VIRTUAL_ENV"}}
    env |= {"PREFECT_HOME": str(root / "prefect"), "COLUMNS": "200", "NO_COLOR": "1"}
    yield Installed(wheel, venv, site_packages, outside, env)


@pytest.mark.packaging
def test_the_wheel_holds_every_file_of_every_package_and_nothing_else(
    installed: Installed,
) -> None:
    with zipfile.ZipFile(installed.wheel) as wheel:
        shipped = {n for n in wheel.namelist() if ".dist-info/" not in n}
    expected = {
        path.relative_to(REPO).as_posix()
        for package in _shipped_packages()
        for path in (REPO / package).rglob("*")
        if path.is_file()
        and "__pycache__" not in path.parts
        and path.suffix != ".pyc"
        and not path.name.startswith(".")
    }
    assert sorted(expected - shipped) == []
    assert sorted(n for n in shipped if n.split("/")[0] in NOT_SHIPPED) == []
    for data in (
        "case_reviews/examples/board.yaml",
        "case_reviews/examples/referrals/scr-child-t.yaml",
        "core/deadlines/packs/lcspr.yaml",
        "notifications/reminder_policy.yaml",
        "notifications/templates/reminder.email.j2",
        "portal/templates/request.html",
        "workspace/templates/register.html",
        "workspace/static/workspace.css",
        "models/migrations/env.py",
        "models/migrations/script.py.mako",
        "models/migrations/versions/0001_initial_case_store.py",
    ):
        assert data in shipped


@pytest.mark.packaging
def test_the_installed_wheel_is_what_python_imports(installed: Installed) -> None:
    out = installed.python(
        "import core, models, notifications, services, tasks, flows, deployments, portal, "
        "workspace, case_reviews\n"
        "for m in (core, models, notifications, services, tasks, flows, deployments, portal, "
        "workspace, case_reviews):\n"
        "    print(m.__file__)\n"
    )
    files = [Path(line) for line in out.splitlines()]
    assert len(files) == 10
    for file in files:
        assert file.is_relative_to(installed.site_packages), file
        assert not file.is_relative_to(REPO), file


@pytest.mark.packaging
def test_the_installed_command_runs_away_from_the_repository(installed: Installed) -> None:
    help_text = installed.reviews("--help")
    for command in ("deadlines", "simulate", "sweep", "timeline"):
        assert command in help_text
    due = installed.reviews(
        "deadlines", "--regime", "lcspr", "--event", "incident_known=2026-11-16", "--json"
    )
    by_milestone = {d["milestone"]: d["due"] for d in json.loads(due)}
    assert by_milestone["panel_notification"] == "2026-11-23"
    assert by_milestone["rapid_review"] == "2026-12-07"
    assert "--regime" in installed.reviews("simulate", "--help")


@pytest.mark.packaging
def test_the_installed_package_finds_its_data(installed: Installed) -> None:
    database = installed.outside / "reviews.db"
    out = installed.python(
        "from datetime import date\n"
        "from case_reviews.examples import BOARD, referral_file\n"
        "from core.deadlines import load_rule_packs\n"
        "from core.methods import load_methods\n"
        "from core.paths import review_path\n"
        "from models.migrate import upgrade\n"
        "from notifications.reminders import load_policy\n"
        "from notifications.render import kinds, render\n"
        "from portal.app import TEMPLATES\n"
        "assert BOARD.is_file()\n"
        "for name in ('scr-child-t', 'lcspr-child-m', 'sar-adult-b'):\n"
        "    assert referral_file(name).is_file(), name\n"
        "print(sorted(load_rule_packs()))\n"
        "print(sorted(load_methods()))\n"
        "assert review_path('professional_forum').has('forum')\n"
        "assert load_policy().chase\n"
        "assert 'reminder' in kinds() and 'weekly_digest' in kinds()\n"
        "email = render('weekly_digest', board_name='Northbridge', reference='', pseudonym='',\n"
        "               items=[], counts={'red': 0, 'amber': 0, 'green': 0},\n"
        "               week_of=date(2026, 11, 30), amber_days=5, overdue_actions=[])\n"
        "assert 'Northbridge' in email.text\n"
        "TEMPLATES.get_template('request.html')\n"
        f"upgrade('sqlite:///{database}')\n"
        "print('ok')\n"
    )
    assert out.splitlines() == [
        "['apr', 'cpr', 'lcspr', 'sar', 'scr', 'susr']",
        "['appreciative_inquiry', 'learning_together', 'other', 'rca', 'silp', 'welsh_model']",
        "ok",
    ]
    assert database.is_file()
