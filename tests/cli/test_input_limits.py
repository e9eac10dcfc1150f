"""Bounded, clean input (issue 12, item 5): size limits on every free-text field, blank text
refused, and each input error one line naming the field or the file, with nothing stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel, ValidationError
from typer.testing import CliRunner

from case_reviews.cli import app
from case_reviews.examples import EXAMPLES
from core.limits import NAME_MAX, SUMMARY_MAX, TEXT_MAX
from flows.inputs import ChairDecision, CommitteeRecommendation, TimelinesComplete
from models.timeline import TimelineEvent
from services.runtime import Runtime
from tests.helpers import example_referral, row_counts

runner = CliRunner()


def _add(path: Path) -> tuple[int, list[str]]:
    result = runner.invoke(app, ["referral", "add", str(path)])
    return result.exit_code, result.stderr.splitlines()


@pytest.fixture
def board(sqlite_rt: Runtime) -> Runtime:
    assert runner.invoke(app, ["board", "load", str(EXAMPLES / "board.yaml")]).exit_code == 0
    return sqlite_rt


def _referral_file(tmp_path: Path, **changes: Any) -> Path:
    data = example_referral() | changes
    path = tmp_path / "referral.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def test_an_oversized_or_blank_summary_is_refused_in_one_line_and_nothing_is_stored(
    board: Runtime, tmp_path: Path
) -> None:
    before = row_counts(board)
    code, lines = _add(_referral_file(tmp_path, summary="x" * (SUMMARY_MAX + 1)))
    assert (code, lines) == (2, [f"summary: String should have at most {SUMMARY_MAX} characters"])
    code, lines = _add(_referral_file(tmp_path, summary=" " * 10))
    assert code == 2 and len(lines) == 1 and lines[0].startswith("summary: ")
    assert row_counts(board) == before


def test_an_invalid_unquoted_yaml_date_is_one_line_naming_the_field(
    board: Runtime, tmp_path: Path
) -> None:
    path = _referral_file(tmp_path)
    text = "\n".join(
        "notified_on: 2026-02-30" if line.startswith("notified_on:") else line
        for line in path.read_text().splitlines()
    )
    path.write_text(text + "\n")
    before = row_counts(board)
    code, lines = _add(path)
    assert code == 2
    assert len(lines) == 1 and lines[0].startswith("notified_on: "), lines
    assert row_counts(board) == before


def test_a_file_that_is_not_utf8_is_one_line_naming_the_file(
    board: Runtime, tmp_path: Path
) -> None:
    path = tmp_path / "latin1.yaml"
    path.write_bytes(yaml.safe_dump(example_referral()).replace("Child T", "Child T é").encode())
    path.write_bytes(path.read_bytes().replace("é".encode(), "é".encode("latin-1")))
    code, lines = _add(path)
    assert code == 2
    assert lines == [
        f"{path}: is not UTF-8 text (byte 0xe9 at offset {_offset(path)}); save it as UTF-8"
    ]


def _offset(path: Path) -> int:
    return path.read_bytes().index(b"\xe9")


def test_malformed_yaml_is_one_line(board: Runtime, tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("regime: scr\nsummary: [unclosed\n")
    code, lines = _add(path)
    assert code == 2 and len(lines) == 1 and lines[0].startswith(f"{path}: is not valid YAML: ")


def _answer_errors(form: type[BaseModel], data: dict[str, Any]) -> list[str]:
    with pytest.raises(ValidationError) as refused:
        form.model_validate(data)
    return [".".join(map(str, e["loc"])) for e in refused.value.errors()]


CHAIR = {
    "decision": "full_review",
    "methodology": None,
    "lead_reviewers": ["Reviewer A"],
    "rationale": "The criteria are met; see the recommendation.",
    "decided_by": "Independent Chair",
    "decided_on": "2026-11-22",
}


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"rationale": " " * 12}, "rationale"),  # ten spaces used to pass min_length=10
        ({"rationale": "x" * (TEXT_MAX + 1)}, "rationale"),
        ({"decided_by": "  "}, "decided_by"),
        ({"decided_by": "x" * (NAME_MAX + 1)}, "decided_by"),
        ({"lead_reviewers": ["   "]}, "lead_reviewers.0"),
    ],
)
def test_gate_answers_refuse_blank_and_oversized_text(change: dict[str, Any], field: str) -> None:
    assert _answer_errors(ChairDecision, CHAIR | change) == [field]
    ChairDecision.model_validate(CHAIR)  # the unchanged answer stands


def test_gate_limits_are_in_the_form_schema_prefect_checks() -> None:
    """The Prefect server validates run input against this schema before the flow sees it."""
    schema = CommitteeRecommendation.model_json_schema()["properties"]
    assert schema["rationale"]["maxLength"] == TEXT_MAX
    assert schema["rationale"]["pattern"] == r"\S"
    optional = TimelinesComplete.model_json_schema()["properties"]["reason"]
    assert optional["maxLength"] == TEXT_MAX
    TimelinesComplete.model_validate({"recorded_by": "BM", "reason": ""})
    assert _answer_errors(TimelinesComplete, {"recorded_by": "BM", "reason": "  "}) == ["reason"]


def test_timeline_cells_are_bounded() -> None:
    event = {
        "date": "2026-08-14",
        "what_happened": "x" * (TEXT_MAX + 1),
        "practitioner_role": "health visitor",
        "significance": "Q1",
    }
    assert _answer_errors(TimelineEvent, event) == ["what_happened"]
