"""The case store on SQLite and PostgreSQL: referrals, identity kept apart, refusals."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import inspect, select

from models import store
from models.db import get_engine
from models.orm import AuditEvent, Obligation, Referral, Review, SubjectIdentity
from models.schemas import ReferralIn
from services.runtime import Runtime
from tests.helpers import add_example_referral, example_referral, load_example_board, row_counts


def test_migrations_create_every_table_from_empty(rt: Runtime) -> None:
    tables = set(inspect(get_engine(rt.settings.database_url)).get_table_names())
    assert {
        "board",
        "agency",
        "review",
        "referral",
        "subject_identity",
        "decision",
        "obligation",
        "audit_event",
        "outbox_message",
        "alembic_version",
    } <= tables
    rt.check_schema()


def test_referral_gets_reference_and_identity_is_stored_apart(rt: Runtime) -> None:
    load_example_board(rt)
    reference = add_example_referral(rt)
    assert reference == "SCR-2026-001"
    with rt.sessions() as session:
        review = store.get_review(session, reference)
        assert review.pseudonym == "Child T"
        identity = session.scalars(select(SubjectIdentity)).one()
        assert identity.review_id == review.id
        assert identity.full_name == "Tobias Quennell"
        referral = session.scalars(select(Referral)).one()
        # Nothing pseudonymised carries the real name.
        assert "Quennell" not in referral.summary
        view = store.referral_view(session, reference)
    dumped = view.model_dump_json()
    assert "Quennell" not in dumped and "2022-05-14" not in dumped and "Hale" not in dumped
    assert view.agencies_involved == sorted(view.agencies_involved)
    assert len(view.agencies_involved) == 5


def test_second_referral_of_a_regime_in_a_year_is_numbered_next(rt: Runtime) -> None:
    load_example_board(rt)
    first = add_example_referral(rt)
    second = add_example_referral(rt, pseudonym="Child U")
    sar = add_example_referral(rt, "sar-adult-b")
    assert (first, second, sar) == ("SCR-2026-001", "SCR-2026-002", "SAR-2026-001")


def test_referral_opens_obligations_from_the_clock_engine(rt: Runtime) -> None:
    load_example_board(rt)
    reference = add_example_referral(rt)  # notified 2026-11-02
    with rt.sessions() as session:
        review = store.get_review(session, reference)
        obligations = {o.milestone: o for o in store.open_obligations(session, review.id)}
    assert obligations["chair_decision"].due_on == date(2026, 12, 2)
    assert obligations["chair_decision"].owed_to == "referrer"


def test_lcspr_referral_opens_panel_and_rapid_review_deadlines(rt: Runtime) -> None:
    load_example_board(rt)
    reference = add_example_referral(rt, "lcspr-child-m")  # notified 2026-11-16
    with rt.sessions() as session:
        review = store.get_review(session, reference)
        due = {o.milestone: o.due_on for o in store.open_obligations(session, review.id)}
    assert due == {"panel_notification": date(2026, 11, 23), "rapid_review": date(2026, 12, 7)}


def test_status_lists_next_deadline_and_days_left(rt: Runtime) -> None:
    load_example_board(rt)
    add_example_referral(rt, "lcspr-child-m")
    with rt.sessions() as session:
        (view,) = store.open_review_status(session, rt.today())
    assert view.reference == "LCSPR-2026-001"
    assert (view.next_milestone, view.next_deadline, view.days_left) == (
        "panel_notification",
        date(2026, 11, 23),
        1,
    )


def test_reveal_is_audited(rt: Runtime) -> None:
    load_example_board(rt)
    reference = add_example_referral(rt)
    with rt.sessions.begin() as session:
        identity = store.reveal_identity(session, reference, actor="chair", now=rt.now())
    assert identity.nhs_number == "9434765919"
    with rt.sessions() as session:
        actions = [(a.actor, a.action) for a in session.scalars(select(AuditEvent))]
    assert ("chair", "identity_revealed") in actions


def test_audit_events_cannot_be_changed(rt: Runtime) -> None:
    load_example_board(rt)
    add_example_referral(rt)
    with pytest.raises(PermissionError), rt.sessions.begin() as session:
        event = session.scalars(select(AuditEvent)).first()
        assert event is not None
        event.actor = "someone else"
    with rt.sessions() as session:
        assert all(a.actor == "test" for a in session.scalars(select(AuditEvent)))


def _refused(rt: Runtime, data: dict[str, object]) -> list[str]:
    before = row_counts(rt)
    with pytest.raises(store.InputRejected) as caught, rt.sessions.begin() as session:
        store.add_referral(
            session,
            ReferralIn.model_validate(data),
            board_id=store.get_board(session).id,
            actor="test",
            now=rt.now(),
            deadlines=rt.deadlines,
        )
    assert row_counts(rt) == before
    return [str(p) for p in caught.value.problems]


def test_unknown_agencies_are_refused_by_name_and_nothing_is_stored(rt: Runtime) -> None:
    load_example_board(rt)
    data = example_referral()
    data["referring_agency"] = "Gotham Police"
    data["agencies_involved"].append("Arkham Trust")
    problems = _refused(rt, data)
    assert problems[0].startswith("referring_agency: unknown agency 'Gotham Police'")
    assert problems[1].startswith("agencies_involved[5]: unknown agency 'Arkham Trust'")


def test_future_dates_are_refused_and_nothing_is_stored(rt: Runtime) -> None:
    load_example_board(rt)
    data = example_referral()
    data["incident_date"] = data["notified_on"] = rt.today() + timedelta(days=3)
    problems = _refused(rt, data)
    assert problems == [
        "notified_on: is in the future (today is 2026-11-22)",
        "incident_date: is in the future (today is 2026-11-22)",
    ]


@pytest.mark.parametrize(
    ("field", "text", "leak"),
    [
        ("summary", "Tobias was seen by the GP.", "name"),
        ("summary", "The QUENNELL family moved in 2025.", "name"),
        ("summary", "Born 14/05/2022, known to services.", "date of birth"),
        ("pseudonym", "Child Quennell", "name"),
        ("summary", "Police were called to 12 Larkspur Row twice.", "address"),
        ("summary", "The family moved to NB4 7QT in 2025.", "address"),
    ],
)
def test_real_identity_in_pseudonymised_fields_is_refused(
    rt: Runtime, field: str, text: str, leak: str
) -> None:
    load_example_board(rt)
    data = example_referral()
    data[field] = text
    (problem,) = _refused(rt, data)
    assert problem == f"{field}: contains the subject's real {leak}; use the pseudonym only"


def test_duplicate_referral_is_refused_with_the_existing_reference(rt: Runtime) -> None:
    load_example_board(rt)
    reference = add_example_referral(rt)
    before = row_counts(rt)
    with pytest.raises(store.DuplicateReferral) as caught:
        add_example_referral(rt, pseudonym="child t")
    assert caught.value.reference == reference
    assert row_counts(rt) == before


def test_refused_referral_rolls_back_even_after_partial_writes(rt: Runtime) -> None:
    """A failure after rows were flushed still leaves the store as it was."""
    load_example_board(rt)
    before = row_counts(rt)
    with pytest.raises(RuntimeError), rt.sessions.begin() as session:
        store.add_referral(
            session,
            ReferralIn.model_validate(example_referral()),
            board_id=store.get_board(session).id,
            actor="test",
            now=rt.now(),
            deadlines=rt.deadlines,
        )
        assert session.scalar(select(Review.id)) is not None
        raise RuntimeError("crash mid-transaction")
    assert row_counts(rt) == before
    with rt.sessions() as session:
        assert session.scalar(select(Obligation.id)) is None


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            {"regime": "xyz"},
            "regime: Input should be 'scr', 'lcspr', 'sar', 'cpr', 'apr' or 'susr'",
        ),
        (
            {"harm": "bruised"},
            "harm: Input should be 'died', 'seriously_harmed' or 'serious_abuse_or_neglect'",
        ),
        ({"referrer": {"name": "A", "email": "nope"}}, "referrer.email: 'nope' is not an email"),
        ({"notified_on": "2026-10-01"}, "notified_on: the board cannot be notified before"),
        ({"agencies_involved": []}, "agencies_involved: List should have at least 1 item"),
        (
            {
                "subject": {
                    "full_name": "A B",
                    "date_of_birth": "2020-01-01",
                    "address": "x",
                    "nhs_number": "9434765918",
                }
            },
            "subject.nhs_number: the NHS number's check",
        ),
        ({"colour": "blue"}, "colour: is not a field of this form"),
    ],
)
def test_invalid_fields_are_named(change: dict[str, object], expected: str) -> None:
    from case_reviews.cli_common import validation_lines

    data = example_referral()
    data.update(change)
    with pytest.raises(ValidationError) as caught:
        ReferralIn.model_validate(data)
    assert any(line.startswith(expected) for line in validation_lines(caught.value)), (
        validation_lines(caught.value)
    )


def test_missing_fields_each_get_a_line() -> None:
    from case_reviews.cli_common import validation_lines

    data = example_referral()
    del data["pseudonym"], data["summary"]
    with pytest.raises(ValidationError) as caught:
        ReferralIn.model_validate(data)
    assert validation_lines(caught.value) == ["pseudonym: is required", "summary: is required"]
