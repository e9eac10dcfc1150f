"""Family involvement, delays and the board's recipient addresses in the case store (SQLite and
PostgreSQL)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import select

from core.deadlines import load_rule_packs
from models import participation_store as participation
from models import store
from models.orm import AuditEvent, FamilyInvolvement, ReviewName
from models.schemas import BoardIn, DelayIn, FamilyStepIn
from services.runtime import Runtime
from tests.conftest import make_runtime
from tests.helpers import add_example_referral, example_board, load_example_board


def _decided(rt: Runtime, reference: str, on: date) -> None:
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        store.record_event(session, review_id=review.id, name="decision", on_date=on)
        store.open_obligations_from_deadlines(
            session, review=review, deadlines=rt.deadlines, now=rt.now()
        )


def _completion_due(rt: Runtime, reference: str) -> date:
    with rt.sessions() as session:
        review = store.get_review(session, reference)
        (obligation,) = store.open_obligations(session, review.id, milestone="review_completion")
        return obligation.due_on


def _delay(rt: Runtime, reference: str, **fields: object) -> None:
    delay = DelayIn.model_validate(
        {"reason": "Criminal trial: practitioners are witnesses.", "start": "2026-11-02"} | fields
    )
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        store.record_delay(session, review=review, delay=delay, actor="bm", now=rt.now())
        store.open_obligations_from_deadlines(
            session, review=review, deadlines=rt.deadlines, now=rt.now()
        )


def test_a_delay_is_recorded_and_shown_but_the_six_month_target_stands(rt: Runtime) -> None:
    load_example_board(rt)
    reference = add_example_referral(rt, "sar-adult-b")
    _decided(rt, reference, date(2026, 10, 20))
    _delay(rt, reference, end="2026-11-15", learning="Escalation guidance reissued.")
    assert _completion_due(rt, reference) == date(2027, 4, 20)
    with rt.sessions() as session:
        (view,) = store.open_review_status(session, rt.today(), rt.deadlines)
    (delay,) = view.delays
    assert (delay.start, delay.end, delay.moves_dates) == (
        date(2026, 11, 2),
        date(2026, 11, 15),
        False,
    )
    assert delay.learning == "Escalation guidance reissued."


def test_a_delay_moves_the_target_only_where_the_pack_says_so(
    database_url: str, clock, tmp_path: Path
) -> None:
    (tmp_path / "sar.yaml").write_text("regime: sar\ndelays_move_dates: true\n")
    from services.runtime import use_runtime

    with use_runtime(make_runtime(database_url, clock, rules_dir=tmp_path)) as rt:
        load_example_board(rt)
        reference = add_example_referral(rt, "sar-adult-b")
        _decided(rt, reference, date(2026, 10, 20))
        _delay(rt, reference)  # still open: nothing to count yet
        assert _completion_due(rt, reference) == date(2027, 4, 20)
        _delay(rt, reference, start="2026-12-01", end="2026-12-14")
        assert _completion_due(rt, reference) == date(2027, 5, 4)


def test_a_delay_ending_before_it_starts_is_refused_naming_the_field() -> None:
    with pytest.raises(ValueError, match="to: the delay ends"):
        DelayIn.model_validate({"reason": "x", "start": "2026-11-15", "end": "2026-11-02"})


def test_family_steps_are_recorded_with_who_and_how_and_the_name_kept_apart(rt: Runtime) -> None:
    load_example_board(rt)
    reference = add_example_referral(rt, "lcspr-child-m")
    step = FamilyStepIn(
        step="told",
        on_date=date(2026, 11, 20),
        recorded_by="Business Manager",
        how="home visit with the social worker",
        member_name="Grace Okonkwo-Bright",
        relationship="mother",
    )
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        participation.record_family_step(
            session, review=review, step=step, actor="bm", now=rt.now()
        )
        participation.record_family_step(
            session,
            review=review,
            step=step.model_copy(update={"step": "invited", "on_date": date(2026, 11, 27)}),
            actor="bm",
            now=rt.now(),
        )
    with rt.sessions() as session:
        review = store.get_review(session, reference)
        steps = participation.family_steps(session, review.id)
        names = session.scalars(select(ReviewName)).all()
        audits = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "family_involvement_recorded")
        ).all()
        rows = session.scalars(select(FamilyInvolvement)).all()
        (view,) = store.open_review_status(session, rt.today(), rt.deadlines)
    assert [(s.step, s.on_date, s.how) for s in steps] == [
        ("told", date(2026, 11, 20), "home visit with the social worker"),
        ("invited", date(2026, 11, 27), "home visit with the social worker"),
    ]
    assert [(n.name, n.role) for n in names] == [("Grace Okonkwo-Bright", "family: mother")]
    assert {r.review_name_id for r in rows} == {names[0].id}
    assert len(audits) == 2 and all("Okonkwo" not in str(a.detail) for a in audits)
    assert [f.step for f in view.family] == ["told", "invited"]
    assert "Okonkwo" not in view.model_dump_json()


def test_the_board_file_keeps_the_notice_addresses_by_role(rt: Runtime) -> None:
    load_example_board(rt)
    with rt.sessions() as session:
        board = store.get_board(session)
        assert store.recipient_address(board, "ofsted") == "enquiries@ofsted.example"
        assert store.recipient_address(board, "national_panel") == board.national_panel_email
        assert store.recipient_address(board, "chair") == board.chair_email


def test_an_address_for_a_role_with_its_own_field_or_an_unknown_role_is_refused() -> None:
    data = example_board()
    with pytest.raises(ValueError, match="addresses: chair has its own field"):
        BoardIn.model_validate(data | {"addresses": {"chair": "x@y.example"}})
    with pytest.raises(ValueError, match="addresses"):
        BoardIn.model_validate(data | {"addresses": {"the_king": "x@y.example"}})


def test_each_pack_names_who_is_told() -> None:
    packs = load_rule_packs()
    assert packs["lcspr"].recipients.decision == (
        "national_panel",
        "ofsted",
        "department_for_education",
    )
    assert packs["lcspr"].recipients.final_report == ("national_panel", "secretary_of_state")
    assert packs["scr"].recipients.referral == ("chair", "director_of_childrens_services")
    assert packs["sar"].recipients.referral == ("chair", "director_of_adult_social_services")
    assert packs["apr"].recipients.referral == ("chair", "director_of_adult_social_services")
    for welsh in ("cpr", "apr", "susr"):
        assert packs[welsh].recipients.decision == ("welsh_government",)
    stages = packs["lcspr"].stages
    assert stages.index("rapid_review") < stages.index("chair_decision")
    assert "committee_recommendation" not in stages
    assert all(not packs[r].stages for r in ("scr", "sar", "cpr", "apr", "susr"))
    assert not any(p.delays_move_dates for p in packs.values())
