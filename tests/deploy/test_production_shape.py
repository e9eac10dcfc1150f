"""The production shape, run locally (issue 12, items 4 and 6): a Prefect server on PostgreSQL
that requires its API auth string, the case store on PostgreSQL, a process work pool and a
``prefect worker`` (not ``serve``) taking a review through a gate and a resume; and a client
without the auth string told so in one line."""

from __future__ import annotations

import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TypeVar

import httpx
import pytest
from prefect import get_client
from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from case_reviews.simulation.scenario import answer, waiting_at
from core.clock import ManualClock
from deployments import driver
from deployments.pool import apply_to_work_pool
from models import store
from models.db import get_engine
from models.migrate import upgrade
from models.orm import AuditEvent, OutboxMessage
from notifications.smtp_catcher import SmtpCatcher, free_port
from services.runtime import Runtime, use_runtime
from tests.conftest import POSTGRES_ADMIN_URL, REPO, make_runtime
from tests.flows.test_crash_and_privacy import PANEL
from tests.helpers import add_example_referral, load_example_board

pytestmark = [pytest.mark.prefect, pytest.mark.postgres]

T = TypeVar("T")
STARTUP = 120.0


def _wait(
    what: str, check: Callable[[], T | None], timeout: float, *procs: subprocess.Popen[bytes]
) -> T:
    deadline = time.monotonic() + timeout
    while True:
        for proc in procs:
            assert proc.poll() is None, f"{proc.args!r} exited ({proc.returncode}) before {what}"
        found = check()
        if found is not None:
            return found
        assert time.monotonic() < deadline, f"gave up waiting for {what}"
        time.sleep(0.5)


def _stop(proc: subprocess.Popen[bytes]) -> None:
    for signum, grace in ((signal.SIGINT, 20), (signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        if proc.poll() is not None:
            break
        try:
            os.killpg(proc.pid, signum)
        except ProcessLookupError:
            break
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            continue
    # Flow-run processes the worker started share its process group.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def prefect_database() -> Iterator[str]:
    """A fresh PostgreSQL database for Prefect's own state."""
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    name = f"prefect_test_{uuid.uuid4().hex[:10]}"
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        admin.dispose()
        pytest.skip(f"PostgreSQL not reachable at {POSTGRES_ADMIN_URL}: {exc.__class__.__name__}")
    url = make_url(POSTGRES_ADMIN_URL).set(drivername="postgresql+asyncpg", database=name)
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@dataclass
class Stack:
    api_url: str
    auth: str
    env: dict[str, str]
    logs: Path


@pytest.fixture(scope="module")
def prefect_server(
    prefect_database: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    home = tmp_path_factory.mktemp("prefect-home")
    port = free_port()
    api_url = f"http://127.0.0.1:{port}/api"
    auth = secrets.token_urlsafe(32)
    env = {
        **os.environ,
        "PREFECT_HOME": str(home),
        "PREFECT_API_URL": api_url,
        "PREFECT_SERVER_DATABASE_CONNECTION_URL": prefect_database,
        "PREFECT_SERVER_API_AUTH_STRING": auth,
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_UI_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "INFO",
    }
    env.pop("PREFECT_API_AUTH_STRING", None)
    log = (home / "server.log").open("wb")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "prefect",
            "server",
            "start",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )

    def healthy() -> bool | None:
        try:
            return True if httpx.get(f"{api_url}/health", timeout=2).status_code == 200 else None
        except httpx.HTTPError:
            return None

    try:
        _wait("the Prefect server on PostgreSQL", healthy, STARTUP, server)
        with temporary_settings(updates={PREFECT_API_URL: api_url, PREFECT_API_AUTH_STRING: auth}):
            yield Stack(api_url, auth, env, home)
    finally:
        _stop(server)
        log.close()


@pytest.fixture
def store_on_postgres(
    postgres_url: str, clock: ManualClock, smtp: SmtpCatcher
) -> Iterator[Runtime]:
    upgrade(postgres_url)
    rt = make_runtime(postgres_url, clock, mail_url=smtp.url())
    with use_runtime(rt):
        load_example_board(rt)
        yield rt
    # The session's database is emptied for the next test.
    with get_engine(postgres_url).begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))


def _worker(
    stack: Stack, rt: Runtime, smtp: SmtpCatcher, pool: str, log: IO[bytes], **env: str
) -> subprocess.Popen[bytes]:
    """A ``prefect worker`` on ``pool`` in its own process group (its flow-run processes
    share the group, as on a host where the worker and its runs die together)."""
    worker_env = {
        **stack.env,
        "PREFECT_API_AUTH_STRING": stack.auth,
        "PREFECT_WORKER_QUERY_SECONDS": "2",
        "REVIEWS_DATABASE_URL": rt.settings.database_url,
        "REVIEWS_MAIL_URL": smtp.url(),
        "REVIEWS_CLOCK": rt.now().isoformat(),
        **env,
    }
    return subprocess.Popen(
        [sys.executable, "-m", "prefect", "worker", "start", "--pool", pool, "--type", "process"],
        env=worker_env,
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def _at_gate(
    rt: Runtime, reference: str, run_id: uuid.UUID, gate: str
) -> Callable[[], bool | None]:
    def check() -> bool | None:
        suspended = driver.state_name(run_id) == "Suspended"
        return True if suspended and waiting_at(rt, reference) == gate else None

    return check


def test_a_worker_on_a_process_pool_takes_a_review_through_a_gate_and_a_resume(
    prefect_server: Stack, store_on_postgres: Runtime, smtp: SmtpCatcher, tmp_path: Path
) -> None:
    rt = store_on_postgres
    assert httpx.post(f"{prefect_server.api_url}/flow_runs/filter", json={}).status_code == 401

    applied = apply_to_work_pool("reviews-test", concurrency=2)
    assert applied == [
        "review/review",
        "sweep/daily-sweep",
        "recover/recover-crashed",
        "committee-report/quarterly-committee-report",
    ]

    log = (tmp_path / "worker.log").open("wb")
    worker = _worker(prefect_server, rt, smtp, "reviews-test", log)
    try:
        reference = add_example_referral(rt)
        run_id = driver.start_review(rt, reference)

        _wait(
            "the committee's gate",
            _at_gate(rt, reference, run_id, "committee_recommendation"),
            STARTUP,
            worker,
        )
        outcome = driver.resume(run_id, answer("committee_recommendation", "full", rt.today()))
        assert outcome.accepted
        _wait(
            "the chair's gate, after the resume",
            _at_gate(rt, reference, run_id, "chair_decision"),
            STARTUP,
            worker,
        )
        assert any("Decision needed: Chair" in m.subject for m in smtp.received)
    finally:
        _stop(worker)
        log.close()
    assert b"Traceback" not in (tmp_path / "worker.log").read_bytes()


@pytest.mark.parametrize("auth", [None, "not-the-string"])
def test_a_client_without_the_auth_string_gets_one_clear_line(
    prefect_server: Stack, store_on_postgres: Runtime, tmp_path: Path, auth: str | None
) -> None:
    rt = store_on_postgres
    reference = add_example_referral(rt)
    env = {
        **prefect_server.env,
        "REVIEWS_DATABASE_URL": rt.settings.database_url,
        "REVIEWS_PREFECT_AUTH_FILE": str(tmp_path / "none"),
    }
    if auth is not None:
        env["PREFECT_API_AUTH_STRING"] = auth
    done = subprocess.run(
        [str(Path(sys.executable).with_name("reviews")), "start", reference],
        cwd=tmp_path,
        env=env | {"PYTHONPATH": str(REPO)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "PREFECT_API_AUTH_STRING" in lines[0] and "401" in lines[0]
    with rt.sessions() as session:  # nothing was started
        assert store.get_review(session, reference).flow_run_id is None


#: Prefect's smallest heartbeat interval, and a zombie window twice as long, so a killed
#: worker's run is marked Crashed about a minute after its last heartbeat.
HEARTBEAT = {"PREFECT_FLOWS_HEARTBEAT_FREQUENCY": "30"}
CRASH_DEADLINE = 240.0


def _descendants(pid: int) -> list[int]:
    """``pid``'s child processes, grandchildren first (from /proc)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    return _descendants_of(pid, parents)


def _descendants_of(pid: int, parents: dict[int, list[int]]) -> list[int]:
    found: list[int] = []
    for child in parents.get(pid, []):
        found += [*_descendants_of(child, parents), child]
    return found


def _kill_host(worker: subprocess.Popen[bytes]) -> None:
    """What a host failure does: SIGKILL for the worker and every flow-run process it started
    (Prefect starts each in its own session, so the worker's process group is not enough)."""
    for pid in [*_descendants(worker.pid), worker.pid]:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    worker.wait(30)


def _crashed_then_back(run_id: uuid.UUID) -> list[str]:
    with get_client(sync_client=True) as client:
        return [s.name for s in client.read_flow_run_states(run_id) if s.name]


@pytest.mark.slow(
    reason="waits for the heartbeats to stop (30 s apart) and the zombie automation (60 s)"
)
def test_a_worker_killed_mid_run_is_crashed_by_its_silence_and_the_review_is_back_at_its_gate(
    prefect_server: Stack, store_on_postgres: Runtime, smtp: SmtpCatcher, tmp_path: Path
) -> None:
    """The issue's stranded run, end to end: the host running a review dies (the worker and its
    flow-run process killed with SIGKILL while the panel's email is on the wire). Nothing but
    Prefect's zombie automation and the recover-crashed deployment brings it back: its
    heartbeats stop, it is marked Crashed, rescheduled, and the worker that replaces the dead
    one replays it to its next gate, sending nothing twice."""
    rt = store_on_postgres
    settings = rt.settings.model_copy(
        update={"zombie_after_seconds": 60, "recovery_interval_seconds": 15}
    )
    apply_to_work_pool("reviews-crash", concurrency=3, settings=settings)
    logs = [(tmp_path / f"worker-{n}.log").open("wb") for n in (1, 2)]
    first = _worker(prefect_server, rt, smtp, "reviews-crash", logs[0], **HEARTBEAT)
    second: subprocess.Popen[bytes] | None = None
    hold = smtp.hold(PANEL)
    try:
        reference = add_example_referral(rt)
        run_id = driver.start_review(rt, reference)
        for gate in ("committee_recommendation", "chair_decision"):
            _wait(gate, _at_gate(rt, reference, run_id, gate), STARTUP, first)
            assert driver.resume(run_id, answer(gate, "full", rt.today())).accepted
        assert hold.arrived.wait(STARTUP), "the panel notification never reached the SMTP server"
        _kill_host(first)
        hold.release("451 Connection lost")
        assert driver.state_name(run_id) == "Running"  # with no process behind it

        second = _worker(prefect_server, rt, smtp, "reviews-crash", logs[1], **HEARTBEAT)
        _wait(
            "the crashed run back at its next gate",
            _at_gate(rt, reference, run_id, "reviewer_appointment"),
            CRASH_DEADLINE,
            second,
        )
    finally:
        hold.release()
        for proc in (first, second):
            if proc is not None:
                _stop(proc)
        for log in logs:
            log.close()

    states = _crashed_then_back(run_id)
    assert "Crashed" in states, states
    assert states[states.index("Crashed") + 1 :][:1] == ["Scheduled"], states
    with rt.sessions() as session:
        recovered = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "run_recovered")
        ).all()
        keys = session.scalars(select(OutboxMessage.key)).all()
        panel_row = session.scalars(
            select(OutboxMessage).where(OutboxMessage.recipient == PANEL)
        ).one()
    assert [r.detail["flow_run_id"] for r in recovered] == [str(run_id)]
    assert len(keys) == len(set(keys))
    delivered = Counter((m.recipients, m.key) for m in smtp.received)
    assert max(delivered.values()) == 1, delivered
    # The message cut off by the crash waits, claimed, for the sweep's stale-claim retry.
    assert panel_row.status == "sending"
    assert ((PANEL,), panel_row.key) not in delivered
