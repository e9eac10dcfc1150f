"""Prefect's zombie detection, created from code whenever the deployments are applied.

Flow runs started from a deployment send a heartbeat every ``PREFECT_FLOWS_HEARTBEAT_FREQUENCY``
seconds (Prefect's default: 180). The automation below is Prefect's documented one ("detect
zombie flows"): a run whose heartbeat stops, without the run reaching another state, is marked
``Crashed``. One change for this project: a review suspended at a gate sends no heartbeats
(no process holds it), so ``Suspended``/``Paused`` count as an expected event too, or every
waiting review would be marked crashed. :func:`services.recovery.recover_crashed_runs` then
brings a crashed review back to its gate.
"""

from __future__ import annotations

from datetime import timedelta

from prefect.automations import Automation
from prefect.client.schemas.objects import StateType
from prefect.events.actions import ChangeFlowRunState
from prefect.events.schemas.automations import EventTrigger, Posture
from prefect.events.schemas.events import ResourceSpecification

from services.prefect_client import prefect_client

ZOMBIE_AUTOMATION = "case-reviews: crash silent flow runs"


def zombie_automation(silent_after: timedelta) -> Automation:
    """Mark a flow run ``Crashed`` when ``silent_after`` passes after a heartbeat with neither
    another heartbeat nor a state that ends or suspends the run."""
    return Automation(
        name=ZOMBIE_AUTOMATION,
        description="Flow runs that stop sending heartbeats (their process died) are crashed; "
        "the recovery deployment then reschedules review runs.",
        trigger=EventTrigger(
            after={"prefect.flow-run.heartbeat"},
            expect={
                "prefect.flow-run.heartbeat",
                "prefect.flow-run.Completed",
                "prefect.flow-run.Failed",
                "prefect.flow-run.Cancelled",
                "prefect.flow-run.Crashed",
                "prefect.flow-run.Suspended",
                "prefect.flow-run.Paused",
            },
            match=ResourceSpecification({"prefect.resource.id": ["prefect.flow-run.*"]}),
            for_each={"prefect.resource.id"},
            posture=Posture.Proactive,
            threshold=1,
            within=silent_after,
        ),
        actions=[
            ChangeFlowRunState(
                state=StateType.CRASHED,
                message="Marked crashed: the flow run stopped sending heartbeats.",
            )
        ],
    )


def apply_zombie_automation(silent_after: timedelta) -> None:
    """Create the automation, or update the one of the same name in place (run on every
    deployment, so every release).

    In place, never deleted and created again: a proactive trigger keeps, per flow run, the
    heartbeat it is waiting after; a new automation starts with none, so a run whose process
    died just before a release would never be marked crashed. Copies left by an older
    release's delete-and-create are removed."""
    wanted = zombie_automation(silent_after)
    with prefect_client() as client:
        found = client.read_automations_by_name(ZOMBIE_AUTOMATION)
        if not found:
            wanted.create()
            return
        keep, *extra = sorted(found, key=lambda a: str(a.id))
        client.update_automation(keep.id, wanted)
        for copy in extra:
            client.delete_automation(copy.id)
