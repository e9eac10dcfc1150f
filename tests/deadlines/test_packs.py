"""Rule packs as data: the built-in packs, rule validation and a board's override directory."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from core.deadlines import (
    DeadlineEngine,
    Rule,
    RulePack,
    RulePackError,
    UnknownMilestoneError,
    load_rule_packs,
)

REGIMES = ["scr", "lcspr", "sar", "cpr", "apr"]
# Issue 25 point 5: the four-week action-plan sign-off is no longer common (Welsh practice
# reviews' own clock; a labelled board rule where a regime keeps it), so each regime lists it.
COMMON_MILESTONES = {
    "action_progress",
    "timeline_return",
    "agency_review_report",
    "professional_forum",
}


@pytest.fixture(scope="module")
def packs() -> dict[str, RulePack]:
    return load_rule_packs()


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text, encoding="utf-8")
    return path


# --- built-in packs ----------------------------------------------------------------------------


def test_built_in_packs_are_the_five_regimes_without_the_common_pack(
    packs: dict[str, RulePack],
) -> None:
    assert sorted(packs) == ["apr", "cpr", "lcspr", "sar", "scr", "susr"]


@pytest.mark.parametrize(
    ("regime", "title", "nation", "own_milestones"),
    [
        (
            "scr",
            "Serious Case Review",
            "England",
            {
                "chair_decision",
                "panel_notification",
                "review_completion",
                "panel_copy",
                "published_until",
                "action_plan_signoff",
            },
        ),
        (
            "lcspr",
            "Local Child Safeguarding Practice Review",
            "England",
            {
                "panel_notification",
                "rapid_review",
                "agency_summary",
                "review_completion",
                "panel_copy",
                "action_plan_signoff",
            },
        ),
        (
            "sar",
            "Safeguarding Adult Review",
            "England",
            {"review_completion", "action_plan_signoff"},
        ),
        # Issue 25 point 7: the Welsh practice reviews notify the Welsh Government.
        (
            "cpr",
            "Child Practice Review (Wales)",
            "Wales",
            {"review_completion", "action_plan_signoff", "government_notification"},
        ),
        (
            "apr",
            "Adult Practice Review (Wales)",
            "Wales",
            {"review_completion", "action_plan_signoff", "government_notification"},
        ),
    ],
)
def test_each_regime_has_its_own_rules_plus_the_common_ones(
    packs: dict[str, RulePack], regime: str, title: str, nation: str, own_milestones: set[str]
) -> None:
    pack = packs[regime]
    assert (pack.regime, pack.title, pack.nation) == (regime, title, nation)
    assert {rule.milestone for rule in pack.rules} == own_milestones | COMMON_MILESTONES


@pytest.mark.parametrize(
    ("regime", "milestone", "description"),
    [
        ("scr", "chair_decision", "1 month after notified"),
        ("scr", "panel_notification", "14 days after decision"),
        ("scr", "review_completion", "6 months after decision"),
        ("scr", "panel_copy", "at the latest 7 days before publication"),
        ("scr", "published_until", "12 months after publication"),
        ("lcspr", "panel_notification", "5 working days after incident_known"),
        # Issue 25 point 1: from the serious incident notification, else from awareness.
        ("lcspr", "rapid_review", "15 working days after la_notified (else incident_known)"),
        ("lcspr", "review_completion", "6 months after decision"),
        ("lcspr", "panel_copy", "at the latest 7 working days before publication"),
        ("sar", "review_completion", "6 months after decision"),
        ("cpr", "review_completion", "6 months after decision"),
        ("apr", "review_completion", "6 months after decision"),
        ("apr", "action_plan_signoff", "28 days after final_report"),
        ("sar", "action_progress", "every 3 months after action_plan_signed_off"),
        ("cpr", "timeline_return", "20 working days after timelines_requested"),
    ],
)
def test_rules_read_as_plain_words(
    packs: dict[str, RulePack], regime: str, milestone: str, description: str
) -> None:
    assert packs[regime].rule(milestone).description == description


@pytest.mark.parametrize("regime", REGIMES)
def test_only_review_completion_is_stoppable_and_only_action_progress_recurs(
    packs: dict[str, RulePack], regime: str
) -> None:
    pack = packs[regime]
    assert {r.milestone for r in pack.rules if r.stoppable} == {"review_completion"}
    assert {r.milestone for r in pack.rules if r.recurring} == {"action_progress"}


@pytest.mark.parametrize("regime", REGIMES)
def test_every_rule_names_its_source(packs: dict[str, RulePack], regime: str) -> None:
    assert all(rule.source.strip() for rule in packs[regime].rules)


def test_timeline_return_default_says_it_is_a_board_rule(packs: dict[str, RulePack]) -> None:
    assert packs["scr"].rule("timeline_return").source == "board rule (default four weeks)"


def test_rule_lookup_names_an_unknown_milestone(packs: dict[str, RulePack]) -> None:
    with pytest.raises(UnknownMilestoneError, match=r"'rapid_review'.*chair_decision"):
        packs["scr"].rule("rapid_review")


# --- rule validation ---------------------------------------------------------------------------


def rule(**overrides: object) -> Rule:
    fields: dict[str, object] = {
        "milestone": "panel_copy",
        "base": "publication",
        "kind": "working_days",
        "amount": 7,
        "source": "test",
    }
    return Rule.model_validate({**fields, **overrides})


def test_rule_amount_must_be_at_least_one() -> None:
    with pytest.raises(ValidationError, match="amount"):
        rule(amount=0)


@pytest.mark.parametrize("flag", ["stoppable", "recurring"])
def test_a_before_rule_cannot_be_stoppable_or_recurring(flag: str) -> None:
    with pytest.raises(ValidationError, match="'before' rule"):
        rule(direction="before", **{flag: True})


def test_a_rule_cannot_be_both_stoppable_and_recurring() -> None:
    with pytest.raises(ValidationError, match="stoppable or recurring"):
        rule(stoppable=True, recurring=True)


def test_rules_are_frozen() -> None:
    with pytest.raises(ValidationError):
        rule().amount = 3  # type: ignore[misc]


def test_singular_amounts_read_naturally() -> None:
    assert rule(amount=1).description == "1 working day after publication"
    assert rule(amount=1, kind="calendar_days").description == "1 day after publication"
    every_month = rule(amount=1, kind="calendar_months", recurring=True)
    assert every_month.description == "every month after publication"


def test_a_pack_cannot_define_a_milestone_twice() -> None:
    with pytest.raises(ValidationError, match="defined twice"):
        RulePack(regime="scr", title="t", nation="England", rules=[rule(), rule()])


# --- a board's own directory -------------------------------------------------------------------


def test_board_file_overrides_a_milestone_of_one_regime_only(tmp_path: Path) -> None:
    write(
        tmp_path,
        "scr.yaml",
        """
regime: scr
rules:
  - milestone: panel_notification
    base: decision
    kind: working_days
    amount: 10
    source: board rule (ten working days)
""",
    )
    packs = load_rule_packs(tmp_path)
    assert packs["scr"].title == "Serious Case Review"  # kept from the built-in pack
    assert packs["scr"].rule("panel_notification").source == "board rule (ten working days)"
    assert packs["lcspr"].rule("panel_notification").kind == "working_days"
    assert packs["lcspr"].rule("panel_notification").base == "incident_known"
    engine = DeadlineEngine(packs)
    # Mon 21 Dec 2026: 22, 23, 24, [25, 28] 29, 30, 31, [1 Jan] 4, 5, 6, 7.
    (notification,) = [
        d
        for d in engine.compute("scr", {"decision": date(2026, 12, 21)})
        if d.milestone == "panel_notification"
    ]
    assert notification.due == date(2027, 1, 7)


@pytest.mark.parametrize("regime", REGIMES)
def test_board_common_file_overrides_the_default_timeline_return_everywhere(
    tmp_path: Path, regime: str
) -> None:
    write(
        tmp_path,
        "common.yaml",
        """
regime: "*"
rules:
  - milestone: timeline_return
    base: timelines_requested
    kind: calendar_days
    amount: 21
    source: board rule (three weeks)
""",
    )
    engine = DeadlineEngine(load_rule_packs(tmp_path))
    (returned,) = engine.compute(regime, {"timelines_requested": date(2026, 12, 14)})
    assert (returned.milestone, returned.due) == ("timeline_return", date(2027, 1, 4))


def test_board_regime_file_beats_board_common_file(tmp_path: Path) -> None:
    common = """
regime: "*"
rules:
  - {milestone: timeline_return, base: timelines_requested, kind: calendar_days, amount: 21,
     source: board common}
"""
    own = """
regime: sar
rules:
  - {milestone: timeline_return, base: timelines_requested, kind: calendar_days, amount: 14,
     source: board sar}
"""
    write(tmp_path, "a_common.yaml", common)
    write(tmp_path, "b_sar.yaml", own)
    packs = load_rule_packs(tmp_path)
    assert packs["sar"].rule("timeline_return").source == "board sar"
    assert packs["cpr"].rule("timeline_return").source == "board common"


def test_board_file_adds_a_rule_to_an_existing_regime(tmp_path: Path) -> None:
    write(
        tmp_path,
        "sar.yaml",
        """
regime: sar
rules:
  - milestone: board_report
    base: final_report
    kind: calendar_months
    amount: 3
    source: board rule (report to the board within three months)
""",
    )
    packs = load_rule_packs(tmp_path)
    assert packs["sar"].rule("review_completion").stoppable  # built-in rules kept
    engine = DeadlineEngine(packs)
    deadlines = {
        d.milestone: d.due for d in engine.compute("sar", {"final_report": date(2026, 11, 30)})
    }
    assert deadlines == {
        "action_plan_signoff": date(2026, 12, 28),
        "board_report": date(2027, 2, 28),
    }


def test_board_file_adds_a_new_regime_with_the_common_rules(tmp_path: Path) -> None:
    write(
        tmp_path,
        "cir.yaml",
        """
regime: cir
title: Critical Incident Review
nation: England
rules:
  - milestone: review_completion
    base: decision
    kind: calendar_months
    amount: 4
    stoppable: true
    source: Wirral LSCB framework s.6
""",
    )
    engine = DeadlineEngine(load_rule_packs(tmp_path))
    assert engine.regimes() == ["apr", "cir", "cpr", "lcspr", "sar", "scr", "susr"]
    deadlines = {
        d.milestone: d.due
        for d in engine.compute(
            "cir", {"decision": date(2026, 10, 31), "final_report": date(2027, 2, 1)}
        )
    }
    # Issue 25 point 5: a new regime no longer inherits the Welsh four-week sign-off.
    assert deadlines == {"review_completion": date(2027, 2, 28)}


def test_new_regime_without_a_title_is_refused_naming_the_file(tmp_path: Path) -> None:
    write(tmp_path, "cir.yaml", "regime: cir\nnation: England\nrules: []\n")
    with pytest.raises(RulePackError, match=r"cir\.yaml.*title"):
        load_rule_packs(tmp_path)


def test_malformed_yaml_is_refused_naming_the_file(tmp_path: Path) -> None:
    write(tmp_path, "broken.yaml", "regime: scr\nrules: [\n")
    with pytest.raises(RulePackError, match=r"broken\.yaml.*malformed YAML"):
        load_rule_packs(tmp_path)


def test_a_file_that_is_not_a_mapping_is_refused(tmp_path: Path) -> None:
    write(tmp_path, "list.yaml", "- regime: scr\n")
    with pytest.raises(RulePackError, match=r"list\.yaml"):
        load_rule_packs(tmp_path)


@pytest.mark.parametrize(
    ("field_yaml", "field_path"),
    [
        ("kind: weeks\n    amount: 2", r"rules\.0\.kind"),
        ("kind: working_days\n    amount: 0", r"rules\.0\.amount"),
        ("kind: working_days\n    amout: 2", r"rules\.0\.(amount|amout)"),
    ],
)
def test_an_invalid_rule_is_refused_naming_the_file_and_the_field(
    tmp_path: Path, field_yaml: str, field_path: str
) -> None:
    write(
        tmp_path,
        "lcspr.yaml",
        f"""
regime: lcspr
rules:
  - milestone: rapid_review
    base: incident_known
    {field_yaml}
    source: board rule
""",
    )
    with pytest.raises(RulePackError, match=rf"lcspr\.yaml: .*{field_path}"):
        load_rule_packs(tmp_path)


def test_a_milestone_twice_in_one_board_file_is_refused(tmp_path: Path) -> None:
    rule_yaml = (
        "  - {milestone: x, base: decision, kind: calendar_days, amount: 1, source: board}\n"
    )
    write(tmp_path, "scr.yaml", "regime: scr\nrules:\n" + rule_yaml * 2)
    with pytest.raises(RulePackError, match=r"scr\.yaml.*'x' is defined twice"):
        load_rule_packs(tmp_path)


def test_files_other_than_yaml_in_the_board_directory_are_ignored(tmp_path: Path) -> None:
    write(tmp_path, "README.md", "not a pack: [")
    assert load_rule_packs(tmp_path) == load_rule_packs()


def test_a_missing_board_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RulePackError, match="not found"):
        load_rule_packs(tmp_path / "nowhere")
