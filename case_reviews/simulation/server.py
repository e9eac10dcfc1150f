"""The simulation's temporary Prefect server: a subprocess with its own home and SQLite database.

Light to import on purpose: ``reviews simulate`` starts the server first and imports the rest
of the simulation (the flows, the portal, the documents) while the server process starts, so
the two start-ups overlap on the machine's cores.

The server is what ``prefect server start`` runs without the UI: Prefect's ASGI app under
uvicorn, as Prefect's own ``SubprocessASGIServer`` starts it, from a copy of a migrated empty
database (made by the first run and kept in the user's cache), so no run waits for Prefect's
migrations.

Two things every in-process execution would otherwise pay for, of no use against a plain
``http://127.0.0.1`` server nobody else uses (about a quarter of an scr simulation):
- Prefect's client builds a TLS context for each client it makes, loading the whole
  certificate bundle, even for plain HTTP: here its certificate file is one certificate;
- Prefect's suspension observer opens a client and a websocket for every execution, to notice
  a run suspended from outside (the UI's Suspend), and its thread takes up to 0.2 s to stop:
  nobody can do that here, so it is off while the simulation runs (served runs keep it).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import certifi
import httpx
import prefect
from prefect.settings import (
    PREFECT_API_SSL_CERT_FILE,
    PREFECT_API_URL,
    PREFECT_HOME,
    temporary_settings,
)

from notifications.smtp_catcher import free_port

#: Server loops a one-review simulation has no use for (scheduling the sweep and recovery
#: deployments' runs, marking them late, the zombie automation, …): off, they leave the two
#: cores to the review.
IDLE_SERVICES = ("scheduler", "late_runs", "foreman", "triggers", "cancellation_cleanup")
#: What a throwaway server records for nobody to read (the task runs and the event log): off
#: unless ``--keep`` leaves its database to look at.
UNREAD_SERVICES = ("task_run_recorder", "event_persister")
STARTUP_SECONDS = 120
#: uvicorn's exit code when it cannot start, e.g. its port was taken in the meantime: start
#: again on another port, a few times (a failure of another kind repeats, and is reported).
PORT_TAKEN = 3
RESTARTS = 3


def template_database() -> Path:
    """Where a migrated, empty Prefect database for this Prefect version is kept: a new
    server on a copy skips Prefect's migrations (most of its start-up on a fresh database)."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "case-reviews"
    return cache / f"prefect-{prefect.__version__}.db"


def copy_database(source: Path, target: Path) -> None:
    """A consistent copy of a SQLite database (its write-ahead log included)."""
    with (
        contextlib.closing(sqlite3.connect(source)) as src,
        contextlib.closing(sqlite3.connect(target)) as dst,
    ):
        src.backup(dst)


def one_certificate(home: Path) -> Path:
    """A certificate file holding one certificate (the first of certifi's bundle): all a TLS
    context for a plain-HTTP server needs to be built."""
    path = home / "one-certificate.pem"
    if not path.is_file():
        bundle = Path(certifi.where()).read_text(encoding="ascii")
        end = "-----END CERTIFICATE-----"
        path.write_text(bundle[: bundle.index(end) + len(end)] + "\n", encoding="ascii")
    return path


_observer = threading.Lock()
_observer_off = 0
_observer_original: Callable[..., Any] | None = None


@contextlib.contextmanager
def _not_observed(*_args: object, **_kwargs: object) -> Iterator[None]:
    yield


@contextlib.contextmanager
def suspension_observer_off() -> Iterator[None]:
    """Turn Prefect's flow-run suspension observer off in this process while the block runs
    (counted: concurrent simulations in one process share it)."""
    import prefect.flow_engine  # heavy: imported once the server is starting

    engine: Any = prefect.flow_engine  # the name is imported there, not exported
    global _observer_off, _observer_original
    with _observer:
        if _observer_off == 0:
            _observer_original = engine.observe_flow_run_suspension
            engine.observe_flow_run_suspension = _not_observed
        _observer_off += 1
    try:
        yield
    finally:
        with _observer:
            _observer_off -= 1
            if _observer_off == 0 and _observer_original is not None:
                engine.observe_flow_run_suspension = _observer_original


class EmbeddedPrefect:
    """A Prefect server in a subprocess with its home and SQLite database under ``home``.

    :meth:`start` returns at once; :meth:`ready` waits for the server's health check and points
    this process's Prefect client at it. A server whose database is not ``kept`` records no
    task runs or events, and is killed at the end (its database is deleted next).
    """

    def __init__(self, home: Path, *, kept: bool = True) -> None:
        self.home = home
        self.kept = kept
        self.port = 0
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def _environment(self) -> dict[str, str]:
        off = IDLE_SERVICES if self.kept else IDLE_SERVICES + UNREAD_SERVICES
        return {
            **os.environ,
            "PREFECT_HOME": str(self.home),
            "PREFECT_SERVER_DATABASE_CONNECTION_URL": "sqlite+aiosqlite:///"
            + str(self.home / "prefect.db"),
            "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
            "PREFECT_UI_ENABLED": "false",
            "PREFECT_LOGGING_LEVEL": "WARNING",
            "PREFECT__SERVER_EPHEMERAL": "1",
            "PREFECT__SERVER_FINAL": "1",
            **{f"PREFECT_SERVER_SERVICES_{name.upper()}_ENABLED": "false" for name in off},
        }

    def _spawn(self) -> None:
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "--app-dir",
                str(Path(prefect.__file__).parent.parent),
                "--factory",
                "prefect.server.api.server:create_app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "error",
                "--lifespan",
                "on",
            ],
            env=self._environment(),
        )

    def start(self) -> None:
        """Copy the template database (made first if this Prefect version has none) and start
        the server process; do not wait for it."""
        self.home.mkdir(parents=True, exist_ok=True)
        template = template_database()
        if not template.is_file():
            with tempfile.TemporaryDirectory() as scratch:
                first = EmbeddedPrefect(Path(scratch))
                first.start_from_empty()
                first.wait()
                first.stop()
                template.parent.mkdir(parents=True, exist_ok=True)
                partial = template.with_suffix(f".{os.getpid()}.tmp")
                copy_database(Path(scratch) / "prefect.db", partial)
                partial.replace(template)  # atomic: a concurrent run sees all of it or none
        copy_database(template, self.home / "prefect.db")
        self._spawn()

    def start_from_empty(self) -> None:
        """Start on an empty database: the server migrates it on start."""
        self.home.mkdir(parents=True, exist_ok=True)
        self._spawn()

    def wait(self, timeout: float = STARTUP_SECONDS) -> str:
        """Wait until the server answers its health check; return its API URL."""
        deadline = time.monotonic() + timeout
        restarts = 0
        with httpx.Client() as client:
            while time.monotonic() < deadline:
                assert self.process is not None, "start() the server first"
                code = self.process.poll()
                if code == PORT_TAKEN and restarts < RESTARTS:
                    restarts += 1
                    self._spawn()
                    continue
                if code is not None:
                    raise RuntimeError(f"the embedded Prefect server exited with code {code}")
                with contextlib.suppress(httpx.TransportError):
                    if client.get(f"{self.api_url}/health").status_code == httpx.codes.OK:
                        return self.api_url
                time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"the embedded Prefect server did not start within {timeout:.0f} s")

    @contextlib.contextmanager
    def ready(self) -> Iterator[str]:
        """Wait for the server and point this process's Prefect client at it; at the end ship
        the runs' logs and events while the server is still there to take them (otherwise
        their workers retry a stopped server at exit)."""
        api_url = self.wait()
        updates = {
            PREFECT_API_URL: api_url,
            PREFECT_HOME: str(self.home),
            PREFECT_API_SSL_CERT_FILE: str(one_certificate(self.home)),
        }
        with temporary_settings(updates=updates), suspension_observer_off():
            try:
                yield api_url
            finally:
                from prefect.events.worker import EventsWorker
                from prefect.logging.handlers import APILogWorker

                APILogWorker.drain_all(timeout=10)
                EventsWorker.drain_all(timeout=10)

    def stop(self) -> None:
        process, self.process = self.process, None
        if process is None:
            return
        if self.kept:
            process.terminate()  # a clean shutdown: its database is left to look at
            try:
                process.wait(timeout=10)
                return
            except subprocess.TimeoutExpired:
                pass
        process.kill()
        process.wait()


@dataclass
class SimulationHome:
    """Where one simulation keeps everything: ``workdir`` (a temporary directory unless
    ``--keep``) and its Prefect server, started."""

    workdir: Path
    kept: bool
    server: EmbeddedPrefect


@contextlib.contextmanager
def simulation_home(keep: Path | None) -> Iterator[SimulationHome]:
    """Make the simulation's directory and start its Prefect server (without waiting for it);
    at the end stop the server and, unless kept, delete the directory."""
    with contextlib.ExitStack() as stack:
        if keep is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="reviews-sim-")))
        else:
            workdir = keep.resolve()
            workdir.mkdir(parents=True, exist_ok=True)
        server = EmbeddedPrefect(workdir / "prefect", kept=keep is not None)
        stack.callback(server.stop)
        server.start()
        yield SimulationHome(workdir, keep is not None, server)


__all__ = [
    "EmbeddedPrefect",
    "SimulationHome",
    "one_certificate",
    "simulation_home",
    "suspension_observer_off",
]
