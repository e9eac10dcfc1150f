"""A runtime whose documents folder is the test's own, with the example board and referral."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.runtime import Runtime, use_runtime
from tests.helpers import add_example_referral, load_example_board


@dataclasses.dataclass
class Case:
    rt: Runtime
    reference: str


def with_documents_dir(rt: Runtime, root: Path, **settings: object) -> Runtime:
    """``rt`` storing its documents under ``root`` (and any other settings changed)."""
    changed = rt.settings.model_copy(update={"documents_dir": root, **settings})
    return dataclasses.replace(rt, settings=changed)


@pytest.fixture
def case(rt: Runtime, tmp_path: Path) -> Iterator[Case]:
    """SCR-2026-001 ("Child T", real name Tobias Quennell) on SQLite and PostgreSQL."""
    with use_runtime(with_documents_dir(rt, tmp_path / "documents")) as runtime:
        load_example_board(runtime)
        yield Case(runtime, add_example_referral(runtime))
