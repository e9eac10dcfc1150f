"""``reviews up`` (``make demo``): the whole system on this machine, with one example review
waiting for the chair's decision in the Prefect UI.

:func:`up` starts, in order: the case store (migrated), a mail catcher (in this process), the
Prefect server and the served ``review``/``sweep`` deployments (each a subprocess in its own
process group, logging under the var directory), loads the example board and referral, starts
the review and answers the committee's gate as the committee would. It then blocks until
Ctrl-C (or ``stop_event``) and stops everything it started, newest first.

It is idempotent over an existing var directory: a second run reuses the stored example review
and its flow run instead of adding another.
"""

from __future__ import annotations

import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, TypeVar
from uuid import UUID

import httpx
import yaml
from prefect.exceptions import ObjectNotFound
from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings
from pydantic import SecretStr
from sqlalchemy.engine import make_url

from case_reviews.examples import BOARD, referral_file
from case_reviews.simulation.scenario import answer_now
from core.config import Settings
from core.files import private_dir
from core.secrets import DEFAULT_PORTAL_SECRET, read_or_create_secret
from deployments import driver
from deployments.serve import REVIEW_DEPLOYMENT
from models import store, workspace_store
from models.migrate import upgrade
from models.orm import WorkspaceRole
from models.schemas import BoardIn, ReferralIn
from notifications.smtp_catcher import SmtpCatcher
from portal.server import PortalServer
from services.accounts import add_user
from services.prefect_client import prefect_client
from services.referrals import record_referral
from services.runtime import Runtime, runtime, use_runtime
from workspace.server import WorkspaceServer

# An LCSPR: LCSPRs replaced SCRs in England from 2019 (scr stays for a board's legacy cases).
EXAMPLE_REFERRAL = referral_file("lcspr-child-m")
BEFORE_THE_CHAIR = ("committee_recommendation", "rapid_review_meeting", "panel_response")
"""The gates before the chair's decision, answered as the partners (or committee) would."""
# The workspace users the demo makes on its first start, each with a generated password that
# is printed once and stored only as a hash: there is no published default password.
DEMO_USERS = {"business.manager": WorkspaceRole.BUSINESS_MANAGER, "chair": WorkspaceRole.CHAIR}

SERVER_START_TIMEOUT = 90.0  # a first start migrates Prefect's database (~15 s here)
STEP_TIMEOUT = 120.0  # deployment registered, run started, gate reached
POLL_INTERVAL = 0.5
STOP_GRACE = 20.0
RUNNER_POLL_SECONDS = 1  # how soon the served runner picks up a resumed run (one light query)

PREFECT_SERVER_COMMAND = (sys.executable, "-m", "prefect", "server", "start")

T = TypeVar("T")


class DemoError(RuntimeError):
    """The demo could not start; the message says why and what to do."""


@dataclass(frozen=True)
class DemoInfo:
    """What a running demo offers: where to look and which review waits for the chair."""

    ui_url: str
    run_url: str
    reference: str
    mail_dir: Path
    flow_run_id: UUID
    workspace_url: str = ""
    # Passwords of the demo's workspace users made by this start (empty on later starts).
    new_passwords: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class _RunPosition:
    state: str
    gate: str | None
    final: bool


class _Service:
    """A subprocess in its own process group, its output in a log file."""

    def __init__(
        self, name: str, args: list[str], *, env: dict[str, str], cwd: Path, log_path: Path
    ) -> None:
        self.name = name
        self.log_path = log_path
        self._log: IO[bytes] = log_path.open("wb")
        try:
            # Own session and process group: the terminal's Ctrl-C reaches only us, and we
            # stop each service (and anything it spawned) in order.
            self.process = subprocess.Popen(
                args,
                env=env,
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=self._log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except BaseException:
            self._log.close()
            raise

    def exited(self) -> int | None:
        return self.process.poll()

    def log_tail(self, lines: int = 15) -> str:
        text = self.log_path.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def _signal_group(self, signum: int) -> bool:
        try:
            os.killpg(self.process.pid, signum)
        except ProcessLookupError:
            return False
        return True

    def stop(self) -> None:
        """SIGINT to the group; SIGTERM, then SIGKILL, if it does not end in time. Leaves no
        member of the group behind."""
        try:
            for signum, grace in (
                (signal.SIGINT, STOP_GRACE),
                (signal.SIGTERM, 10.0),
                (signal.SIGKILL, 5.0),
            ):
                if self.process.poll() is not None:
                    break
                self._signal_group(signum)
                try:
                    self.process.wait(grace)
                except subprocess.TimeoutExpired:
                    continue
            # Children the leader left behind (e.g. a flow-run process) share its group.
            for signum in (signal.SIGTERM, signal.SIGKILL):
                if not self._signal_group(0):
                    break
                self._signal_group(signum)
                deadline = time.monotonic() + 5.0
                while time.monotonic() < deadline and self._signal_group(0):
                    time.sleep(0.1)
        finally:
            self._log.close()


def _check_port_free(port: int, what: str) -> None:
    with socket.socket() as probe:
        # The servers set SO_REUSEADDR too, so a port in TIME_WAIT after a recent stop is fine.
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            raise DemoError(
                f"port {port} ({what}) is already in use on 127.0.0.1: stop whatever listens "
                f"there (an earlier demo?) or choose another port"
            ) from None


def _wait_until(
    description: str,
    check: Callable[[], T | None],
    *,
    timeout: float,
    services: list[_Service],
) -> T:
    """Poll ``check`` until it returns a value; fail naming the service that died or the wait
    that timed out, with where to look."""
    deadline = time.monotonic() + timeout
    while True:
        for service in services:
            code = service.exited()
            if code is not None:
                raise DemoError(
                    f"{service.name} exited (code {code}) while waiting for {description}; "
                    f"see {service.log_path}:\n{service.log_tail()}"
                )
        found = check()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            logs = ", ".join(str(s.log_path) for s in services)
            raise DemoError(f"gave up after {timeout:.0f} s waiting for {description}; see {logs}")
        time.sleep(POLL_INTERVAL)


def _absolute_sqlite(url: str) -> str:
    """The same database with a relative SQLite path made absolute, so the services (started
    in the repository) use the very file this process uses."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return url
    path = Path(parsed.database)
    if path.is_absolute():
        return url
    return parsed.set(database=str(path.resolve())).render_as_string(hide_password=False)


PREFECT_AUTH_FILE = "prefect-auth-string"
PORTAL_SECRET_FILE = "portal-secret"
WORKSPACE_SECRET_FILE = "workspace-secret"


def _demo_settings(
    base: Settings, *, catcher: SmtpCatcher, ui_url: str, portal_url: str, var_dir: Path
) -> Settings:
    """The runtime's settings, with mail going to the demo's catcher and links to its UI and
    its agency portal. The published default portal secret is replaced by one drawn for this
    var directory (kept in ``var/portal-secret``, mode 0600)."""
    update: dict[str, object] = {
        "database_url": _absolute_sqlite(base.database_url),
        "mail_url": SecretStr(catcher.url()),
        "ui_url": ui_url,
        "portal_url": portal_url,
        "prefect_api_url": f"{ui_url}/api",
        "prefect_auth_file": var_dir / PREFECT_AUTH_FILE,
        "portal_secret_file": var_dir / PORTAL_SECRET_FILE,
        "workspace_secret_file": var_dir / WORKSPACE_SECRET_FILE,
    }
    if base.portal_secret.get_secret_value() == DEFAULT_PORTAL_SECRET:
        secret, _created = read_or_create_secret(var_dir / PORTAL_SECRET_FILE)
        update["portal_secret"] = SecretStr(secret)
    if base.workspace_secret.get_secret_value() == DEFAULT_PORTAL_SECRET:
        # The workspace's session cookies are signed with it: never the published default.
        secret, _created = read_or_create_secret(var_dir / WORKSPACE_SECRET_FILE)
        update["workspace_secret"] = SecretStr(secret)
    return base.model_copy(update=update)


def _prefect_auth_string(var_dir: Path) -> str:
    """The Prefect API auth string of this var directory: drawn on the first start (and
    printed then, once), read back on later ones."""
    path = var_dir / PREFECT_AUTH_FILE
    auth, created = read_or_create_secret(path)
    if created:
        print(
            f"Prefect API auth string (shown this once; kept in {path}, mode 0600): {auth}\n"
            "  the UI asks for it; the reviews CLI reads the file, other clients need "
            "PREFECT_API_AUTH_STRING",
            flush=True,
        )
    return auth


def _settings_env(settings: Settings) -> dict[str, str]:
    """``REVIEWS_*`` variables that rebuild ``settings`` in a subprocess."""
    env: dict[str, str] = {}
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if value is None:
            continue
        if isinstance(value, SecretStr):
            value = value.get_secret_value()
        elif isinstance(value, Path):
            value = value.resolve()
        env[f"REVIEWS_{name.upper()}"] = str(value)
    return env


def _healthy(api_url: str) -> bool | None:
    try:
        response = httpx.get(f"{api_url}/health", timeout=2.0)
    except httpx.HTTPError:
        return None
    return True if response.status_code == 200 else None


def _review_deployment_served() -> bool | None:
    """True once the ``review`` deployment exists and is not paused (``serve`` pauses it on
    shutdown and resumes it when it starts again)."""
    try:
        with prefect_client() as client:
            deployment = client.read_deployment_by_name(REVIEW_DEPLOYMENT)
    except (ObjectNotFound, httpx.HTTPError):
        return None
    return True if not deployment.paused else None


def _example_review(rt: Runtime) -> str:
    """Load the example board and return the example referral's review, adding it only if
    no review with its pseudonym exists yet."""
    board_in = BoardIn.model_validate(yaml.safe_load(BOARD.read_text(encoding="utf-8")))
    referral = ReferralIn.model_validate(
        yaml.safe_load(EXAMPLE_REFERRAL.read_text(encoding="utf-8"))
    )
    try:
        with rt.sessions.begin() as session:
            board = store.load_board(session, board_in)
            existing = store.find_review_reference(session, pseudonym=referral.pseudonym)
            if existing is not None:
                return existing
            review = record_referral(rt, session, referral, board_id=board.id)
            return review.reference
    except store.InputRejected as exc:
        raise DemoError(f"the example referral {EXAMPLE_REFERRAL} was refused: {exc}") from exc


def _demo_users(rt: Runtime) -> dict[str, str]:
    """Add the demo's workspace users that do not exist yet; returns their new passwords."""
    made = {}
    for username, role in DEMO_USERS.items():
        with rt.sessions() as session:
            exists = workspace_store.find_user(session, username) is not None
        if not exists:
            password = secrets.token_urlsafe(12)
            add_user(rt, username, role, password)
            made[username] = password
    return made


def _review_run(rt: Runtime, reference: str) -> UUID:
    """The review's flow run: started now if it has none, else the one the case store
    remembers (which must exist on this Prefect server)."""
    with rt.sessions() as session:
        remembered = store.get_review(session, reference).flow_run_id
    if remembered is None:
        return driver.start_review(rt, reference)
    run_id = UUID(remembered)
    try:
        driver.read_run(run_id)
    except ObjectNotFound:
        raise DemoError(
            f"the case store ({rt.settings.database_url}) says {reference} runs as flow run "
            f"{run_id}, but this Prefect server does not know that run: remove the case store "
            "and the var directory to start the demo afresh"
        ) from None
    return run_id


def _position(rt: Runtime, reference: str, run_id: UUID) -> _RunPosition:
    state = driver.read_run(run_id).state
    with rt.sessions() as session:
        gate = store.get_review(session, reference).waiting_at
    if state is None:
        return _RunPosition("unknown", gate, final=False)
    return _RunPosition(str(state.name), gate, final=state.is_final())


def _settled_at_gate(
    rt: Runtime, reference: str, run_id: UUID, *, not_at: str | None = None
) -> Callable[[], _RunPosition | None]:
    """A check for :func:`_wait_until`: the run is suspended at a gate (other than
    ``not_at``) and its Resume button works, or the run has ended."""

    def check() -> _RunPosition | None:
        position = _position(rt, reference, run_id)
        if position.final:
            return position
        if position.state == "Suspended" and position.gate not in (None, not_at):
            return position
        return None

    return check


def _bring_to_chair(
    rt: Runtime, reference: str, run_id: UUID, services: list[_Service]
) -> _RunPosition:
    """Wait for the run's first gate; while it is one before the chair's (an LCSPR's rapid
    review meeting and the panel's response, another regime's committee), answer it as the
    partners or the committee would (a full review), then wait for the next gate."""
    position = _wait_until(
        f"{reference} to wait at a gate",
        _settled_at_gate(rt, reference, run_id),
        timeout=STEP_TIMEOUT,
        services=services,
    )
    while not position.final and position.gate in BEFORE_THE_CHAIR:
        gate = position.gate
        print(f"answering {reference}'s {gate} gate as the partners would", flush=True)
        driver.resume(run_id, answer_now(rt, reference, gate, "full"))
        position = _wait_until(
            f"{reference} to wait at the gate after {gate}",
            _settled_at_gate(rt, reference, run_id, not_at=gate),
            timeout=STEP_TIMEOUT,
            services=services,
        )
    return position


@contextmanager
def _signals_stop_the_demo() -> Iterator[None]:
    """Make Ctrl-C, SIGTERM and SIGHUP stop the demo (and so the services), when running in
    the main thread (signal handlers can only be set there).

    A process started with SIGINT ignored (a background job of a script) would pass that on
    to the services, which then could not be stopped with SIGINT: the demo says "Press
    Ctrl-C", so SIGINT is un-ignored for its duration.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def interrupt(_signum: int, _frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    previous = {s: signal.signal(s, interrupt) for s in (signal.SIGTERM, signal.SIGHUP)}
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        previous[signal.SIGINT] = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _workspace_lines(info: DemoInfo) -> list[str]:
    lines = [f"  Workspace:   {info.workspace_url} (the register of reviews; sign in)"]
    if info.new_passwords:
        lines.append("               passwords shown this once (stored hashed):")
        lines.extend(
            f"                 {user}  {password}" for user, password in info.new_passwords.items()
        )
    else:
        lines.append(
            f"               users {', '.join(DEMO_USERS)}: passwords were printed on the first "
            "start; add others with 'reviews users add'"
        )
    return lines


def _announce(info: DemoInfo, var_dir: Path, pseudonym: str, gate: _RunPosition) -> None:
    if gate.gate == "chair_decision":
        where = "waits for the chair's decision: open it and press Resume"
    elif gate.final:
        where = f"has ended ({gate.state})"
    else:
        where = f"waits at {gate.gate}"
    print(
        "\n".join(
            [
                "",
                "Case reviews demo is running.",
                f"  Prefect UI:  {info.ui_url}",
                f"  Other terminals: REVIEWS_PREFECT_API_URL={info.ui_url}/api "
                "(the default for port 4200; 'reviews start' and 'reviews sweep' use it)",
                *_workspace_lines(info),
                f"  Review {info.reference} ({pseudonym}) {where}:",
                f"               {info.run_url}",
                f"  Mail:        goes to {info.mail_dir} (one .eml per message; also listed here)",
                f"  Logs:        {var_dir / 'prefect-server.log'}, {var_dir / 'serve.log'}",
                "",
                "Press Ctrl-C to stop.",
            ]
        ),
        flush=True,
    )


def _block(stop: threading.Event, services: list[_Service]) -> None:
    while not stop.wait(1.0):
        for service in services:
            code = service.exited()
            if code is not None:
                raise DemoError(
                    f"{service.name} stopped unexpectedly (code {code}); see {service.log_path}"
                )


def up(
    *,
    var_dir: Path = Path("var"),
    prefect_port: int = 4200,
    smtp_port: int = 8025,
    portal_port: int = 8800,
    workspace_port: int = 8900,
    ready: Callable[[DemoInfo], None] | None = None,
    stop_event: threading.Event | None = None,
) -> None:
    """Run the demo until Ctrl-C (or until ``stop_event`` is set); see the module docstring.

    Side effects: creates ``var_dir`` (Prefect's home and database, the mail folder, the two
    service logs); migrates the case store named by ``REVIEWS_DATABASE_URL`` (default
    ``var/reviews.db``); loads the example board; adds the example referral and starts its
    review only the first time. Mail from the served flows goes to the catcher on
    ``smtp_port`` and UI links point at ``prefect_port``, whatever ``REVIEWS_MAIL_URL`` and
    ``REVIEWS_UI_URL`` say. ``ready`` is called once the review waits for the chair.

    Raises :class:`DemoError` (after stopping whatever had started) when a port is taken, a
    service does not come up, or the review does not reach the chair in time. Returns once
    every service it started has stopped.
    """
    var_dir = var_dir.resolve()
    mail_dir = var_dir / "mail"
    ui_url = f"http://127.0.0.1:{prefect_port}"
    api_url = f"{ui_url}/api"
    stop = stop_event or threading.Event()
    _check_port_free(prefect_port, "the Prefect server and UI")
    _check_port_free(smtp_port, "the mail catcher")
    _check_port_free(portal_port, "the agency portal")
    _check_port_free(workspace_port, "the board workspace")
    private_dir(var_dir)

    services: list[_Service] = []
    with ExitStack() as stack:
        try:
            stack.enter_context(_signals_stop_the_demo())
            catcher = SmtpCatcher(port=smtp_port, mail_dir=mail_dir, echo=True)
            portal_url = f"http://127.0.0.1:{portal_port}"
            workspace_url = f"http://127.0.0.1:{workspace_port}"
            settings = _demo_settings(
                runtime().settings,
                catcher=catcher,
                ui_url=ui_url,
                portal_url=portal_url,
                var_dir=var_dir,
            ).model_copy(update={"workspace_url": workspace_url})
            rt = Runtime.from_settings(settings)
            stack.enter_context(use_runtime(rt))  # the portal (a thread here) uses it too
            upgrade(settings.database_url)

            catcher.start()
            stack.callback(catcher.stop)
            print(f"mail catcher listening on 127.0.0.1:{smtp_port}", flush=True)

            prefect_home = var_dir / "prefect"
            prefect_home.mkdir(exist_ok=True)
            # Closed by default: the server requires the auth string, every client sends it.
            auth = _prefect_auth_string(var_dir)
            env = {
                **os.environ,
                **_settings_env(settings),
                "PREFECT_HOME": str(prefect_home),
                "PREFECT_API_URL": api_url,
                "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
                "PREFECT_RUNNER_POLL_FREQUENCY": str(RUNNER_POLL_SECONDS),
                "PREFECT_SERVER_API_AUTH_STRING": auth,
                "PREFECT_API_AUTH_STRING": auth,
                "PYTHONUNBUFFERED": "1",
            }
            stack.enter_context(
                temporary_settings(
                    updates={PREFECT_API_URL: api_url, PREFECT_API_AUTH_STRING: auth}
                )
            )

            print(f"starting the Prefect server on {ui_url} …", flush=True)
            server = _Service(
                "the Prefect server",
                [*PREFECT_SERVER_COMMAND, "--host", "127.0.0.1", "--port", str(prefect_port)],
                env=env,
                cwd=var_dir.parent,
                log_path=var_dir / "prefect-server.log",
            )
            services.append(server)
            stack.callback(server.stop)
            _wait_until(
                f"the Prefect server at {api_url}/health",
                lambda: _healthy(api_url),
                timeout=SERVER_START_TIMEOUT,
                services=services,
            )

            print("serving the review and sweep deployments …", flush=True)
            serve = _Service(
                "deployments.serve",
                [sys.executable, "-m", "deployments.serve"],
                env=env,
                cwd=var_dir.parent,
                log_path=var_dir / "serve.log",
            )
            services.append(serve)
            stack.callback(serve.stop)  # runs before server.stop: serve needs the API to stop
            _wait_until(
                f"the {REVIEW_DEPLOYMENT} deployment",
                _review_deployment_served,
                timeout=STEP_TIMEOUT,
                services=services,
            )

            portal = PortalServer(portal_port).start()
            stack.callback(portal.stop)
            print(f"agency portal on {portal_url} (links arrive in timeline requests)", flush=True)

            workspace = WorkspaceServer(workspace_port).start()
            stack.callback(workspace.stop)
            new_passwords = _demo_users(rt)
            print(f"board workspace on {workspace_url}", flush=True)

            reference = _example_review(rt)
            run_id = _review_run(rt, reference)
            position = _bring_to_chair(rt, reference, run_id, services)
            with rt.sessions() as session:
                pseudonym = store.get_review(session, reference).pseudonym
            info = DemoInfo(
                ui_url=ui_url,
                run_url=driver.run_ui_url(rt, run_id),
                reference=reference,
                mail_dir=mail_dir,
                flow_run_id=run_id,
                workspace_url=workspace_url,
                new_passwords=new_passwords,
            )
            _announce(info, var_dir, pseudonym, position)
            if ready is not None:
                ready(info)
            _block(stop, services)
        except KeyboardInterrupt:
            pass
        finally:
            print("stopping the demo …", flush=True)
    print("demo stopped.", flush=True)


def main() -> None:
    """``python -m case_reviews.demo``: :func:`up` with the defaults; errors as one message."""
    try:
        up()
    except DemoError as exc:
        print(f"reviews up: {exc}", file=sys.stderr)
        raise SystemExit(1) from None


if __name__ == "__main__":
    main()
