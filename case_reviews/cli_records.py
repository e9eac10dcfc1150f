"""``reviews delay …`` and ``reviews family …``: what the business manager records beside the
gates. Both stay in the case store; nothing here reaches Prefect."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy.orm import Session

from case_reviews.cli_common import change_review, fail, ready, validate
from models import participation_store as participation
from models import store
from models.orm import Review
from models.schemas import DelayIn, FamilyStepIn
from services.runtime import Runtime

delay_app = typer.Typer(help="Delays to a review and the learning captured meanwhile.")
family_app = typer.Typer(help="The family's involvement in a review.")


def record_delay(rt: Runtime, reference: str, delay: DelayIn) -> list[str]:
    """Record the delay; where the pack lets a delay move dates, re-date the open deadlines.
    Returns lines for the business manager: what moved, or that the targets stand."""

    def change(session: Session, review: Review) -> list[str]:
        store.record_delay(
            session, review=review, delay=delay, actor=rt.settings.operator, now=rt.now()
        )
        if not rt.deadlines.pack(review.regime.value).delays_move_dates:
            return ["the statutory dates stand (the regime's pack does not let a delay move them)"]
        moved = store.open_obligations_from_deadlines(
            session, review=review, deadlines=rt.deadlines, now=rt.now()
        )
        return [f"{o.milestone}: due {o.due_on:%a %d %b %Y}" for o in moved]

    return change_review(rt, reference, change)


@delay_app.command("record")
def delay_record(
    reference: str,
    reason: Annotated[str, typer.Option(help="Why, e.g. parallel criminal proceedings.")],
    start: Annotated[str, typer.Option("--from", help="First day of the delay (YYYY-MM-DD).")],
    end: Annotated[
        str | None, typer.Option("--to", help="Last day (YYYY-MM-DD); none while it lasts.")
    ] = None,
    learning: Annotated[
        str, typer.Option(help="Improvements and corrective actions captured meanwhile.")
    ] = "",
) -> None:
    """Record a delay: its reason, period and the learning captured meanwhile (audited). It
    moves a statutory date only where the regime's pack says so (``delays_move_dates``)."""
    delay = validate(DelayIn, {"reason": reason, "start": start, "end": end, "learning": learning})
    lines = record_delay(ready(), reference, delay)
    until = f" to {delay.end}" if delay.end else " (open)"
    typer.echo(f"{reference}: delay recorded from {delay.start}{until}")
    for line in lines:
        typer.echo(f"  {line}")


@family_app.command("record")
def family_record(
    reference: str,
    step: Annotated[
        str, typer.Option(help="told, invited, contributed or told_before_publication")
    ],
    on: Annotated[str, typer.Option(help="The date (YYYY-MM-DD).")],
    by: Annotated[str, typer.Option(help="Who did it and records it.")],
    how: Annotated[str, typer.Option(help="How, e.g. a home visit, a letter.")] = "",
    note: Annotated[str, typer.Option(help="A note (kept in the case store only).")] = "",
    member: Annotated[
        str | None, typer.Option(help="The family member's name (identity: kept apart).")
    ] = None,
    relationship: Annotated[str, typer.Option(help="e.g. mother, grandparent.")] = "family member",
) -> None:
    """Record a step of the family's involvement: told of the review, invited to contribute,
    contributed, told before publication. Audited without the family member's name."""
    family_step = validate(
        FamilyStepIn,
        {
            "step": step,
            "on_date": on,
            "recorded_by": by,
            "how": how,
            "note": note,
            "member_name": member,
            "relationship": relationship,
        },
    )
    rt = ready()
    if family_step.on_date > rt.today():
        fail("on: is in the future")
    change_review(
        rt,
        reference,
        lambda session, review: participation.record_family_step(
            session, review=review, step=family_step, actor=rt.settings.operator, now=rt.now()
        ),
    )
    typer.echo(f"{reference}: family {family_step.step.replace('_', ' ')} on {family_step.on_date}")
