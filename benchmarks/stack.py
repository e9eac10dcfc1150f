"""Benchmarks on the running stack (a Prefect server and ``deployments.serve``, as ``reviews
up`` runs them): starting many reviews to their first gate, and resume -> next gate latency
with many reviews open."""

from __future__ import annotations

import contextlib
import os
import statistics
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from uuid import UUID

from prefect.settings import PREFECT_API_URL, temporary_settings
from sqlalchemy import create_engine, make_url, text

from case_reviews.demo import (
    RUNNER_POLL_SECONDS,
    _healthy,
    _review_deployment_served,
    _Service,
    _settings_env,
)
from case_reviews.simulation.scenario import answer, waiting_at
from core.config import Settings
from deployments import driver
from models.migrate import upgrade
from notifications.smtp_catcher import SmtpCatcher, free_port
from services.runtime import Runtime, use_runtime
from tests.helpers import add_example_referral, load_example_board

FIRST_GATE = "committee_recommendation"
#: The runner's helper processes (their command lines), which run no flow.
RUNNER_HELPERS = (b"multiprocessing.forkserver", b"multiprocessing.resource_tracker")
NEXT_GATE = "chair_decision"


@dataclass
class Stack:
    rt: Runtime
    services: list[_Service]

    def pids(self) -> list[int]:
        """The services and every process they started (flow-run processes included)."""
        children: dict[int, list[int]] = {}
        for stat in Path("/proc").glob("[0-9]*/stat"):
            with contextlib.suppress(OSError, ValueError, IndexError):
                ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
                children.setdefault(ppid, []).append(int(stat.parent.name))
        found, todo = [], [s.process.pid for s in self.services]
        while todo:
            pid = todo.pop()
            found.append(pid)
            todo += children.get(pid, [])
        return found

    def flow_run_processes(self) -> int:
        """Processes running a flow: every process the services started except the runner's
        fork server and multiprocessing's resource tracker, which hold no run."""
        serve = self.services[-1].process.pid
        helpers = {serve, self.services[0].process.pid}
        for pid in self.pids():
            with contextlib.suppress(OSError):
                command = Path(f"/proc/{pid}/cmdline").read_bytes()
                parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
                if parent == serve and any(h in command for h in RUNNER_HELPERS):
                    helpers.add(pid)
        return len([p for p in self.pids() if p not in helpers])

    def rss_bytes(self) -> int:
        total = 0
        for pid in self.pids():
            with contextlib.suppress(OSError, ValueError, IndexError):
                total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf(
                    "SC_PAGE_SIZE"
                )
        return total


def _wait(what: str, check: Callable[[], bool], timeout: float, stack: Stack) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        for service in stack.services:
            if service.exited() is not None:
                raise RuntimeError(f"{service.name} exited:\n{service.log_tail()}")
        if time.monotonic() > deadline:
            raise RuntimeError(f"gave up waiting for {what}")
        time.sleep(0.1)


@contextlib.contextmanager
def fresh_postgres(admin_url: str) -> Iterator[str]:
    """A new PostgreSQL database for Prefect's state under ``admin_url`` (dropped at the end);
    yields its asyncpg URL."""
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    name = f"prefect_bench_{uuid.uuid4().hex[:10]}"
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        url = make_url(admin_url).set(drivername="postgresql+asyncpg", database=name)
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@contextlib.contextmanager
def running_stack(
    workdir: Path, runner_limit: int, prefect_postgres: str | None = None
) -> Iterator[Stack]:
    """A fresh case store, an SMTP catcher, a Prefect server and the served deployments, with
    ``runner_limit`` runs at once. Prefect's database is SQLite, as ``reviews up`` runs it, or
    with ``prefect_postgres`` (an admin URL) a fresh PostgreSQL database, as in production."""
    with SmtpCatcher() as smtp, contextlib.ExitStack() as exit_stack:
        settings = Settings(
            database_url=f"sqlite:///{workdir / 'reviews.db'}",
            mail_url=smtp.url(),
            runner_limit=runner_limit,
            clock="2026-11-23T09:00:00+00:00",
        )
        upgrade(settings.database_url)
        rt = Runtime.from_settings(settings)
        exit_stack.enter_context(use_runtime(rt))
        load_example_board(rt)
        port = free_port()
        api_url = f"http://127.0.0.1:{port}/api"
        env = {
            **os.environ,
            **_settings_env(settings),
            "PREFECT_HOME": str(workdir / "prefect"),
            "PREFECT_API_URL": api_url,
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_UI_ENABLED": "false",
            "PREFECT_RUNNER_POLL_FREQUENCY": str(RUNNER_POLL_SECONDS),
        }
        if prefect_postgres is not None:
            prefect_url = exit_stack.enter_context(fresh_postgres(prefect_postgres))
            env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = prefect_url
        exit_stack.enter_context(temporary_settings(updates={PREFECT_API_URL: api_url}))
        stack = Stack(rt, [])
        server = _Service(
            "the Prefect server",
            [sys.executable, "-m", "prefect", "server", "start", "--port", str(port)],
            env=env,
            cwd=workdir,
            log_path=workdir / "server.log",
        )
        stack.services.append(server)
        exit_stack.callback(server.stop)
        _wait("the Prefect server", lambda: bool(_healthy(api_url)), 120, stack)
        serve = _Service(
            "deployments.serve",
            [sys.executable, "-m", "deployments.serve"],
            env=env,
            cwd=Path(__file__).resolve().parent.parent,
            log_path=workdir / "serve.log",
        )
        stack.services.append(serve)
        exit_stack.callback(serve.stop)
        _wait("the served deployments", lambda: bool(_review_deployment_served()), 120, stack)
        yield stack


def _at(rt: Runtime, reference: str, run_id: UUID, gate: str) -> bool:
    return waiting_at(rt, reference) == gate and driver.state_name(run_id) == "Suspended"


def start_reviews(stack: Stack, count: int) -> tuple[dict[str, UUID], dict[str, object]]:
    """Start ``count`` reviews at once and wait until every one waits at its first gate."""
    rt = stack.rt
    references = [add_example_referral(rt, pseudonym=f"Child B{n}") for n in range(count)]
    peak = [stack.rss_bytes()]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.5):
            peak.append(stack.rss_bytes())

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    started = time.perf_counter()
    runs = {reference: driver.start_review(rt, reference) for reference in references}
    created = time.perf_counter() - started
    pending = dict(runs)

    def all_at_gate() -> bool:
        for reference in list(pending):
            if waiting_at(rt, reference) == FIRST_GATE:
                del pending[reference]
        return not pending

    _wait(f"{count} reviews at their first gate", all_at_gate, 60 + 20 * count, stack)
    # The store says "waiting" a moment before the run process has suspended and exited.
    _wait("every run suspended", lambda: stack.flow_run_processes() == 0, 120, stack)
    elapsed = time.perf_counter() - started
    done.set()
    sampler.join()
    return runs, {
        "reviews": count,
        "create_runs_seconds": round(created, 2),
        "all_at_first_gate_seconds": round(elapsed, 1),
        "peak_stack_rss_gib": round(max(peak) / 2**30, 2),
        "processes_held_after": stack.flow_run_processes(),
    }


def resume_latency(stack: Stack, runs: dict[str, UUID], samples: int) -> dict[str, object]:
    """Answer the first gate of ``samples`` open reviews, one at a time, timing each resume
    until the run waits at its next gate."""
    rt = stack.rt
    seconds = []
    for reference, run_id in list(runs.items())[:samples]:
        started = time.perf_counter()
        assert driver.resume(run_id, answer(FIRST_GATE, "full", rt.today())).accepted
        _wait("the next gate", partial(_at, rt, reference, run_id, NEXT_GATE), 120, stack)
        seconds.append(time.perf_counter() - started)
    seconds.sort()
    return {
        "open_reviews": len(runs),
        "resumes": len(seconds),
        "median_seconds": round(statistics.median(seconds), 2),
        "p95_seconds": round(seconds[max(0, round(0.95 * len(seconds)) - 1)], 2),
        "max_seconds": round(seconds[-1], 2),
        "each_seconds": [round(s, 2) for s in seconds],
    }
