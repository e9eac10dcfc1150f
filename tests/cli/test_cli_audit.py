"""``reviews audit REF``: the trail of one review in words, open (here) or closed (the
simulation test reads a closed one)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from case_reviews.cli import app
from case_reviews.examples import EXAMPLES
from models.audit_trail import describe, how_given
from services.runtime import Runtime

runner = CliRunner()


def _invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_audit_of_an_open_review_lists_the_referral_and_the_reveal_in_words(
    sqlite_rt: Runtime,
) -> None:
    _invoke("board", "load", str(EXAMPLES / "board.yaml"))
    code, out, err = _invoke("referral", "add", str(EXAMPLES / "referrals" / "scr-child-t.yaml"))
    assert code == 0, err
    reference = out.strip()
    _invoke("referral", "show", reference, "--reveal")

    code, out, err = _invoke("audit", reference, "--json")
    assert code == 0, err
    trail = json.loads(out)
    assert (trail["reference"], trail["status"]) == (reference, "open")
    actions = [e["action"] for e in trail["entries"]]
    assert actions == ["referral_recorded", "identity_revealed"]
    revealed = trail["entries"][1]
    assert revealed["what"] == "Subject's identity revealed"
    assert revealed["who"] == sqlite_rt.settings.operator
    assert revealed["how"] == "the name given with the record (no sign-in)"
    # The trail names who looked, never what they saw.
    assert "Quennell" not in out

    code, out, _ = _invoke("audit", reference)
    assert code == 0
    assert out.splitlines()[0] == f"{reference} (scr, open): 2 entries"
    assert "    Subject's identity revealed" in out.splitlines()


def test_audit_of_an_unknown_reference_exits_2_naming_it(sqlite_rt: Runtime) -> None:
    code, _, err = _invoke("audit", "SCR-2099-001")
    assert code == 2
    assert "SCR-2099-001" in err


def test_an_answer_reads_as_words_not_python_text() -> None:
    what = describe(
        "gate_answered",
        {
            "gate": "chair_decision",
            "attempt": 1,
            "answer": {
                "decision": "full_review",
                "lead_reviewers": ["Reviewer A", "Reviewer B"],
                "decided_on": "2026-12-17",
                "proceed_without": [],
            },
        },
    )
    assert what == (
        "Answered chair decision (ask 1): decision: full review; "
        "lead reviewers: Reviewer A, Reviewer B; decided on: 17 December 2026"
    )
    assert "{" not in describe("some_new_action", {"kind": "final_report", "version": 2})


def test_how_each_part_came_in_is_told_apart() -> None:
    users = frozenset({"bm"})
    assert how_given("document_read", "bm", users) == "signed in to the workspace"
    assert how_given("timeline_submitted", "Northbridge Police (portal)", users) == (
        "the agency's portal link"
    )
    assert how_given("gate_answered", "Independent Chair", users).startswith("the name typed")
    assert how_given("stage_completed", "case-reviews", users) == "the system"
