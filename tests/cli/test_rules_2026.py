"""Issue 25, "The 2026 rules, right to the letter": each test names the numbered point it follows.

The rules are the packs' (``core/deadlines/packs``), read through ``reviews deadlines`` and the
engine; the referral refusals go through ``reviews referral add``. The store's side (the two
dates of a referral, the rapid review re-dated from the notification) is in
``tests/models/test_store_rules_2026.py``.
"""

from __future__ import annotations

import ast
import json
from datetime import date
from pathlib import Path
from typing import Any, get_args

import pytest
import yaml
from typer.testing import CliRunner

from case_reviews.cli import app
from case_reviews.examples import EXAMPLES
from core.criteria import CaseFacts, assess
from core.deadlines import DeadlineEngine, load_rule_packs
from core.deadlines.engine import Basis
from core.paths import review_path
from services.runtime import Runtime
from tests.helpers import example_referral, row_counts

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
PACK_DIR = ROOT / "core" / "deadlines" / "packs"
REGIMES = ["scr", "lcspr", "sar", "cpr", "apr", "susr"]
PACKS = load_rule_packs()
ENGINE = DeadlineEngine(PACKS)


def invoke(*args: str) -> tuple[int, str, str]:
    result = runner.invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def deadlines_json(regime: str, **events: str) -> dict[str, dict[str, Any]]:
    args = ["deadlines", "--regime", regime, "--json"]
    for name, on in events.items():
        args += ["--event", f"{name}={on}"]
    code, out, err = invoke(*args)
    assert code == 0, err
    return {row["milestone"]: row for row in json.loads(out)}


def facts(harm: str, abuse: str = "known", concerns: bool = False, dhr: bool = False) -> CaseFacts:
    return CaseFacts(
        harm=harm, abuse_or_neglect=abuse, interagency_concerns=concerns, domestic_homicide=dhr
    )


# --- 1. The rapid review counts from the notification; every recorded event is a clock event


def test_point_1_rapid_review_is_15_working_days_after_the_la_notification() -> None:
    due = deadlines_json("lcspr", incident_known="2026-11-16", la_notified="2026-11-19")
    rapid = due["rapid_review"]
    # Thu 19 Nov 2026 + 15 working days = Thu 10 Dec 2026 (the notification day not counted).
    assert (rapid["due"], rapid["base_event"], rapid["base_date"]) == (
        "2026-12-10",
        "la_notified",
        "2026-11-19",
    )
    assert rapid["note"] == ""
    assert rapid["rule"] == "15 working days after la_notified"
    # The local authority's own five working days still count from when it became aware.
    assert due["panel_notification"]["due"] == "2026-11-23"


def test_point_1_without_a_notification_it_counts_from_awareness_and_says_so() -> None:
    rapid = deadlines_json("lcspr", incident_known="2026-11-16")["rapid_review"]
    assert (rapid["due"], rapid["base_event"]) == ("2026-12-07", "incident_known")
    assert rapid["note"] == "counted from incident_known: no la_notified is recorded"


def _recorded_event_names() -> set[str]:
    """Every literal event name the code records (``record_event(..., name="…")``) and every
    event the task modules list as a request's event."""
    found: set[str] = set()
    for folder in ("models", "services", "tasks", "flows", "case_reviews"):
        for path in (ROOT / folder).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                called = getattr(node, "func", None)
                name = getattr(called, "attr", None) or getattr(called, "id", None)
                if isinstance(node, ast.Call) and name == "record_event":
                    for keyword in node.keywords:
                        if keyword.arg == "name" and isinstance(keyword.value, ast.Constant):
                            found.add(str(keyword.value.value))
    return found | {"timelines_requested", "summaries_requested", "family_told", "agencies_told"}


def _method_event_names() -> set[str]:
    names: set[str] = set()
    for path in (PACK_DIR / "methods").glob("*.yaml"):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        names |= {step["name"] for step in data.get("steps", []) + data.get("events", [])}
    return names


@pytest.mark.parametrize("regime", REGIMES)
def test_point_1_every_event_the_store_records_is_accepted(regime: str) -> None:
    recorded = _recorded_event_names() | _method_event_names()
    assert {"la_notified", "rapid_review_sent", "panel_notified"} <= recorded
    assert recorded <= ENGINE.known_events(regime)
    ENGINE.compute(regime, dict.fromkeys(recorded, date(2026, 11, 16)))  # none refused
    code, _, err = invoke("deadlines", "--regime", regime, "--event", "la_notified=2026-11-19")
    assert code == 0, err


def test_point_1_recording_the_la_notification_re_dates_the_rapid_review(
    sqlite_rt: Runtime, tmp_path: Path
) -> None:
    from models import store

    invoke("board", "load", str(EXAMPLES / "board.yaml"))
    code, _, err = invoke("referral", "add", str(EXAMPLES / "referrals" / "lcspr-child-m.yaml"))
    assert code == 0, err
    code, _, err = invoke(
        "referral",
        "la-notification",
        "LCSPR-2026-001",
        "--sent-on",
        "2026-11-19",
        "--to",
        "national_panel",
    )
    assert code == 0, err
    with sqlite_rt.sessions() as session:
        review = store.get_review(session, "LCSPR-2026-001")
        (rapid,) = store.open_obligations(session, review.id, milestone="rapid_review")
    assert rapid.due_on == date(2026, 12, 10)


# --- 2. Both dates of a referral (the store side is in tests/models/test_store_rules_2026.py)


def test_point_2_a_referral_may_give_when_the_local_authority_became_aware() -> None:
    from models.schemas import ReferralIn

    data = example_referral("lcspr-child-m") | {"incident_known_on": "2026-11-15"}
    referral = ReferralIn.model_validate(data)
    assert (referral.incident_known_on, referral.notified_on) == (
        date(2026, 11, 15),
        date(2026, 11, 16),
    )
    with pytest.raises(ValueError, match="incident_known_on: is before the incident_date"):
        ReferralIn.model_validate(data | {"incident_known_on": "2026-11-01"})


# --- 3. The LCSPR threshold is s.16C / Working Together 2023 ch.5, not reg 5(2)


def test_point_3_lcspr_needs_abuse_or_neglect_and_death_or_serious_harm_only() -> None:
    criteria = PACKS["lcspr"].criteria
    assert criteria is not None
    assert "s.16C" in criteria.basis and "Working Together 2023 ch.5" in criteria.basis
    # Serious harm without any concern about working together is a serious child safeguarding case.
    assert assess(criteria, facts("seriously_harmed", concerns=False)).met
    assert assess(criteria, facts("died", abuse="suspected")).met
    below = assess(criteria, facts("seriously_harmed", abuse="not_suspected"))
    assert not below.met and below.route == "no_review"
    assert "no LCSPR" in below.reason
    assert all("worked together" not in test.label for test in criteria.tests)
    assert all(test.interagency_concerns is None for test in criteria.tests)
    # The SCR keeps its own reg 5(2) test, working-together limb and all.
    scr = PACKS["scr"].criteria
    assert scr is not None and "reg 5(2)" in scr.basis
    assert not assess(scr, facts("seriously_harmed", concerns=False)).met


# --- 4. Rapid review outcomes; local routes are labelled board overrides


def test_point_4_lcspr_routes_are_lcspr_no_lcspr_national_review_then_board_overrides() -> None:
    pack = PACKS["lcspr"]
    assert pack.paths[:3] == ("full_review", "no_review", "national_review")
    assert set(pack.board_paths) == {
        "critical_incident_review",
        "individual_agency_review",
        "professional_forum",
    }
    assert not review_path("national_review").statutory
    code, out, _ = invoke("deadlines", "--regime", "lcspr", "--json")
    assert code == 0
    routes = {r["route"]: r for r in json.loads(out)["routes"]}
    assert routes["critical_incident_review"]["board_override"] is True
    assert "board override" in routes["critical_incident_review"]["label"]
    assert routes["national_review"]["board_override"] is False
    code, out, _ = invoke("deadlines", "--regime", "lcspr")
    assert "critical_incident_review (board override" in out


def test_point_4_scr_keeps_the_wirral_routes_as_its_own() -> None:
    assert "critical_incident_review" in PACKS["scr"].paths
    assert PACKS["scr"].board_paths == ()


# --- 5. The four-week sign-off is the Welsh practice reviews' own clock


def test_point_5_four_week_signoff_is_statutory_only_in_cpr_and_apr() -> None:
    common = yaml.safe_load((PACK_DIR / "common.yaml").read_text(encoding="utf-8"))
    assert "action_plan_signoff" not in {rule["milestone"] for rule in common["rules"]}
    for regime in ("cpr", "apr"):
        rule = PACKS[regime].rule("action_plan_signoff")
        assert (rule.kind, rule.amount, rule.basis) == ("calendar_days", 28, "statutory guidance")
        assert "Welsh Government handout 2017" in rule.source
    for regime in ("scr", "lcspr", "sar", "susr"):
        rule = PACKS[regime].rule("action_plan_signoff")
        assert rule.basis == "board rule" and rule.source.startswith("board rule"), regime
        row = deadlines_json(regime, final_report="2026-12-01")["action_plan_signoff"]
        assert row["basis"] == "board rule"


# --- 6. cpr/apr closed to new referrals from 1 October 2024


@pytest.mark.parametrize(("regime", "example"), [("cpr", "cpr-child-w"), ("apr", "apr-adult-w")])
def test_point_6_a_practice_review_notified_from_1_october_2024_is_refused_naming_susr(
    sqlite_rt: Runtime, tmp_path: Path, regime: str, example: str
) -> None:
    invoke("board", "load", str(EXAMPLES / "board.yaml"))
    data = example_referral(example) | {
        "notified_on": date(2024, 10, 1),
        "incident_date": date(2024, 9, 30),
    }
    file = tmp_path / "late.yaml"
    file.write_text(yaml.safe_dump(data), encoding="utf-8")
    before = row_counts(sqlite_rt)
    code, _, err = invoke("referral", "add", str(file))
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("notified_on: ") and "susr" in lines[0] and "2024-10-01" in lines[0]
    assert row_counts(sqlite_rt) == before
    # A referral notified the day before still runs as a practice review, to its end.
    file.write_text(yaml.safe_dump(data | {"notified_on": date(2024, 9, 30)}), encoding="utf-8")
    code, out, err = invoke("referral", "add", str(file))
    assert code == 0, err
    assert regime.upper() in out


def test_point_6_the_pack_says_when_and_by_what_it_was_replaced() -> None:
    code, out, _ = invoke("deadlines", "--regime", "cpr", "--json")
    assert code == 0
    assert json.loads(out)["replaced"] == {"referrals_before": "2024-10-01", "by": "susr"}
    assert PACKS["susr"].referrals_before is None


# --- 7. Who must be told


@pytest.mark.parametrize("regime", ["cpr", "apr", "susr"])
def test_point_7_welsh_regimes_notify_the_welsh_government(regime: str) -> None:
    pack = PACKS[regime]
    assert "welsh_government" in pack.recipients.decision
    row = deadlines_json(regime, decision="2024-09-02")["government_notification"]
    assert row["basis"] == "board rule" and row["source"].startswith("board rule")


def test_point_7_a_susr_domestic_homicide_needs_no_inter_agency_concern() -> None:
    criteria = PACKS["susr"].criteria
    assert criteria is not None and "s.9" in criteria.basis
    met = assess(criteria, facts("died", abuse="not_suspected", concerns=False, dhr=True))
    assert met.met and met.test is not None and "s.9" in met.test
    assert not assess(criteria, facts("died", abuse="not_suspected", concerns=False)).met


def test_point_7_a_susr_dhr_goes_to_the_home_office_for_quality_assurance() -> None:
    rule = PACKS["susr"].rule("home_office_submission")
    assert rule.base == "dhr_final_report" and "Home Office" in rule.source
    # Only a DHR's report records dhr_final_report: a SUSR's plain final report starts no clock.
    assert "home_office_submission" not in deadlines_json("susr", final_report="2026-12-01")
    assert "home_office_submission" in deadlines_json("susr", dhr_final_report="2026-12-01")


def test_point_7_lcspr_final_report_recipients_and_the_unreached_text_is_said() -> None:
    pack = PACKS["lcspr"]
    assert pack.recipients.final_report == ("national_panel", "secretary_of_state")
    assert "ofsted" in pack.recipients.decision
    text = (PACK_DIR / "lcspr.yaml").read_text(encoding="utf-8")
    assert "could not be reached" in text


# --- 8. Defaults that tell the right story


def test_point_8_the_demo_example_is_an_lcspr() -> None:
    from case_reviews.demo import EXAMPLE_REFERRAL

    assert yaml.safe_load(EXAMPLE_REFERRAL.read_text(encoding="utf-8"))["regime"] == "lcspr"


def test_point_8_deadlines_help_and_readme_name_susr() -> None:
    code, out, _ = invoke("deadlines", "--help")
    assert code == 0 and "susr" in out
    intro = (ROOT / "README.md").read_text(encoding="utf-8").split("\n## ", 1)[0]
    assert "susr" in intro


# --- 9. Every row says its basis and source; unverified clocks are board rules


@pytest.mark.parametrize("regime", REGIMES)
def test_point_9_every_deadline_row_has_a_basis_and_a_source(regime: str) -> None:
    events = dict.fromkeys(ENGINE.known_events(regime), "2026-11-16")
    rows = deadlines_json(regime, **events)
    assert rows
    for milestone, row in rows.items():
        assert row["basis"] in get_args(Basis), milestone
        assert row["source"].strip(), milestone
        if row["basis"] == "board rule":
            assert row["source"].startswith("board rule"), milestone


def test_point_9_every_built_in_rule_states_its_basis_in_the_pack() -> None:
    for path in PACK_DIR.glob("*.yaml"):
        for rule in yaml.safe_load(path.read_text(encoding="utf-8")).get("rules", []):
            assert rule.get("basis") in get_args(Basis), (path.name, rule["milestone"])


def test_point_9_unverified_completion_targets_are_board_rules() -> None:
    for regime in ("lcspr", "susr"):
        assert PACKS[regime].rule("review_completion").basis == "board rule", regime
    assert PACKS["sar"].rule("review_completion").basis == "statutory guidance"
    assert PACKS["lcspr"].rule("panel_notification").basis == "statute"
    assert PACKS["lcspr"].rule("rapid_review").basis == "national panel guidance"
