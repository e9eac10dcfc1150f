"""A process killed mid-review loses nothing and repeats nothing; Prefect never sees identity."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from datetime import date, timedelta
from pathlib import Path

import pytest
from prefect.settings import PREFECT_API_URL, PREFECT_SERVER_DATABASE_CONNECTION_URL
from sqlalchemy import select

from case_reviews.simulation.scenario import answer, drive
from deployments import driver
from models import store
from models.orm import AuditEvent, Decision, OutboxMessage
from notifications.outbox import STALE_CLAIM, deliver_pending
from tests.conftest import REPO

pytestmark = pytest.mark.prefect

PANEL = "notifications@national-panel.example"


def _engine_subprocess(case, run_id) -> subprocess.Popen[bytes]:
    """Execute the run in a separate process, as a served runner does, so it can be killed."""
    env = {
        **os.environ,
        "PREFECT_API_URL": str(PREFECT_API_URL.value()),
        "PREFECT__FLOW_RUN_ID": str(run_id),
        "REVIEWS_DATABASE_URL": case.rt.settings.database_url,
        "REVIEWS_MAIL_URL": case.smtp.url(),
        "REVIEWS_CLOCK": case.clock.now().isoformat(),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "prefect.engine"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_process_killed_after_a_side_effect_and_before_the_suspend_loses_and_repeats_nothing(
    case_factory,
) -> None:
    case = case_factory()
    run_id = case.start()
    driver.execute(run_id)
    driver.resume(run_id, answer("committee_recommendation", "full", case.clock.now().date()))
    driver.execute(run_id)
    driver.resume(run_id, answer("chair_decision", "full", case.clock.now().date()))

    # The chair's decision is recorded and the referrer told; the process dies while the
    # national panel's notification is on the wire, before the flow reaches its next gate.
    hold = case.smtp.hold(PANEL)
    process = _engine_subprocess(case, run_id)
    try:
        assert hold.arrived.wait(90), "the panel notification never reached the SMTP server"
        process.send_signal(signal.SIGKILL)
        process.wait(30)
    finally:
        hold.release("451 Connection lost")
        if process.poll() is None:
            process.kill()
    assert driver.state_name(run_id) == "Running"  # nothing marks a killed run

    # Run it again, as a restarted runner would.
    assert driver.execute(run_id) == "Suspended"
    with case.rt.sessions() as session:
        review = store.get_review(session, case.reference)
        assert review.waiting_at == "reviewer_appointment"
        assert (
            len(session.scalars(select(Decision).where(Decision.kind == "chair_decision")).all())
            == 1
        )
        stages = Counter(
            a.detail["stage"]
            for a in session.scalars(
                select(AuditEvent).where(AuditEvent.action == "stage_completed")
            )
        )
        panel_row = session.scalars(
            select(OutboxMessage).where(OutboxMessage.recipient == PANEL)
        ).one()
    assert set(stages.values()) == {1}
    assert {"chair_decision", "panel_notification"} <= set(stages)
    # The interrupted message is still claimed by the dead process: nothing lost, it waits.
    assert panel_row.status == "sending"
    case.clock.advance(STALE_CLAIM + timedelta(minutes=1))
    deliver_pending(case.rt.sessions, case.rt.mailer, case.rt.now)

    delivered = Counter((m.recipients, m.key) for m in case.smtp.received)
    assert max(delivered.values()) == 1
    assert delivered[((PANEL,), panel_row.key)] == 1
    referrer = [
        m for m in case.smtp.received if m.key.endswith("decision_feedback:" + m.recipients[0])
    ]
    assert len(referrer) == 1


SENTINEL_NAME = "Zebedee Quillfeather"
SENTINEL_DOB = date(2019, 2, 3)
SENTINEL_NHS = "4857773457"
SENTINEL_ADDRESS = "99 Sentinel Crescent"


def _prefect_database() -> Path:
    url = str(PREFECT_SERVER_DATABASE_CONNECTION_URL.value())
    return Path(url.split(":///", 1)[1])


def test_a_whole_review_leaves_no_trace_of_identity_in_prefect(case_factory) -> None:
    case = case_factory(
        subject={
            "full_name": SENTINEL_NAME,
            "date_of_birth": SENTINEL_DOB.isoformat(),
            "address": SENTINEL_ADDRESS,
            "nhs_number": SENTINEL_NHS,
        },
        pseudonym="Child Z",
    )
    run_id = case.start()
    assert drive(case.rt, case.clock, run_id, case.reference, "full").state == "Completed"

    needles = [
        SENTINEL_NAME,
        "Quillfeather",
        "Zebedee",
        SENTINEL_DOB.isoformat(),
        f"{SENTINEL_DOB:%d/%m/%Y}",
        SENTINEL_NHS,
        "Sentinel Crescent",
    ]
    database = _prefect_database()
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        tables = [
            r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        rows_scanned = 0
        for table in tables:
            for row in connection.execute(f'SELECT * FROM "{table}"'):
                rows_scanned += 1
                text = " ".join(str(v) for v in row).casefold()
                for needle in needles:
                    assert needle.casefold() not in text, (
                        f"{needle!r} found in Prefect table {table}"
                    )
    assert rows_scanned > 100  # the scan really read the run's records
    # SQLite may keep old pages: read the raw files too.
    for path in database.parent.glob(database.name + "*"):
        raw = path.read_bytes().decode("latin-1").casefold()
        for needle in needles:
            assert needle.casefold() not in raw, f"{needle!r} found in {path.name}"
    # And the pseudonym did reach Prefect: the scan would have seen identity had it been there.
    with sqlite3.connect(f"file:{database}?mode=ro", uri=True) as connection:
        inputs = " ".join(str(r[0]) for r in connection.execute("SELECT value FROM flow_run_input"))
    assert "Child Z" in inputs
    for message in case.smtp.received:
        body = message.message.as_string().casefold()
        for needle in needles:
            assert needle.casefold() not in body, f"{needle!r} in mail to {message.recipients}"
