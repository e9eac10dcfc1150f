"""Building reviews with recommendations and action plans through the store functions."""

from __future__ import annotations

from datetime import date

from models import action_plan_store as plans
from models import store
from models.action_plan import parse_plan_rows
from services.runtime import Runtime

POLICE = "Northbridge Police"
GP = "Riverside GP Practice"
CSC = "Northbridge Children's Social Care"


def plan_row(
    recommendation: object, action: str, owner: str, due: str, **changes: str
) -> dict[str, object]:
    row: dict[str, object] = {
        "recommendation": recommendation,
        "action": action,
        "owner_agency": owner,
        "intended_outcome": "Children not brought to appointments are followed up",
        "due_date": due,
        "impact_measure": "Audit of 20 records each quarter",
    }
    row.update(changes)
    return row


def record_report(rt: Runtime, reference: str, on: date, recommendations: int = 2) -> None:
    """The final report on ``on`` with ``recommendations`` recommendations."""
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        store.record_event(session, review_id=review.id, name="final_report", on_date=on)
        for number in range(1, recommendations + 1):
            plans.add_recommendation(
                session,
                review=review,
                number=number,
                text=f"Agencies should follow up missed appointments ({number})",
                intended_outcome="No missed appointment goes unnoticed",
                timescale="six months",
                actor="test",
                now=rt.now(),
            )


def load_rows(rt: Runtime, reference: str, rows: list[dict[str, object]]) -> list[int]:
    with rt.sessions.begin() as session:
        review = store.get_review(session, reference)
        added = plans.load_plan(
            session,
            review=review,
            items=parse_plan_rows(rows),
            actor="test",
            source="test",
            now=rt.now(),
        )
        return [a.number for a in added]


def three_item_plan(rt: Runtime, reference: str) -> list[int]:
    """Three items across two owner agencies (police 1, GP 2)."""
    return load_rows(
        rt,
        reference,
        [
            plan_row(1, "Train officers on missed-appointment referrals", POLICE, "2027-03-31"),
            plan_row(1, "Call the family after a second missed appointment", GP, "2027-02-28"),
            plan_row(2, "Audit follow-up of missed appointments", GP, "2027-06-30"),
        ],
    )
