"""``reviews up`` end to end, as a new user would try it: the demo comes up on its own, the
chair decides in the Prefect UI (headless Debian Chromium), the review moves on, the mail is
pseudonymised, and Ctrl-C (here: ``stop_event``) leaves nothing running."""

from __future__ import annotations

import email
import email.policy
import os
import re
import socket
import time
from datetime import date
from email.message import EmailMessage
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import expect, sync_playwright
from prefect.settings import PREFECT_API_AUTH_STRING, PREFECT_API_URL, temporary_settings
from sqlalchemy import select

from case_reviews.demo import DemoInfo
from case_reviews.simulation.scenario import answer, example_timeline_csv, waiting_at
from core.config import Settings
from deployments import driver
from models import store
from models.orm import Decision
from notifications.exports import to_html
from services.runtime import Runtime
from tests.demo.conftest import (
    CHROMIUM,
    CHROMIUM_ARGS,
    REAL_NAME,
    UI_TIMEOUT_MS,
    RunningDemo,
    auth_string,
    choose,
    form_field,
)

pytestmark = pytest.mark.browser


def _services(prefect_home: Path) -> set[int]:
    """Live processes started with this demo's PREFECT_HOME (the server, serve, flow runs)."""
    marker = f"PREFECT_HOME={prefect_home}".encode()
    found: set[int] = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if marker in (entry / "environ").read_bytes().split(b"\0"):
                found.add(int(entry.name))
        except OSError:
            continue  # ended meanwhile, or not ours to read
    return found


def _command(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""  # ended meanwhile


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _port_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _mail(mail_dir: Path) -> list[EmailMessage]:
    messages = []
    for path in sorted(mail_dir.glob("*.eml")):
        parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        assert isinstance(parsed, EmailMessage)
        messages.append(parsed)
    return messages


def _text_of(message: EmailMessage) -> str:
    parts = [str(message)]  # headers and the transfer-encoded body as stored
    for part in message.walk():
        if part.get_content_maintype() == "text":
            parts.append(str(part.get_content()))
    return "\n".join(parts)


def _decide_in_the_ui(info: DemoInfo, screenshot: Path, auth: str) -> None:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 2000})
            page.set_default_timeout(UI_TIMEOUT_MS)
            # Closed by default: the UI asks for the auth string the demo printed once.
            page.goto(f"{info.ui_url}/login")
            page.get_by_placeholder("admin:pass").fill(auth)
            page.get_by_role("button", name="Login").click()
            expect(page).not_to_have_url(re.compile(r"/login"))
            page.goto(info.run_url)
            expect(page.get_by_text(info.reference, exact=True).first).to_be_visible()
            expect(page.get_by_text("Suspended", exact=True).first).to_be_visible()

            page.get_by_role("button", name="Resume", exact=True).click()
            form = page.get_by_role("dialog")
            expect(form).to_contain_text("Resume Flow Run")
            for text in ("Chair's decision", info.reference, "Child M", "Deadline"):
                expect(form).to_contain_text(text)
            for label in (
                "Decision",
                "Methodology",
                "Lead reviewers",
                "Rationale",
                "Decided by",
                "Decided on",
            ):
                expect(form_field(form, label)).to_be_visible()

            choose(page, form, "Decision", "Full review (statutory)")
            choose(page, form, "Methodology", "SCIE Learning Together")
            reviewers = form_field(form, "Lead reviewers")
            reviewers.get_by_role("button", name="Add item").click()
            reviewers.get_by_role("textbox").fill("Dr Alex Reviewer")
            form_field(form, "Rationale").get_by_role("textbox").fill(
                "s.16C is met: the child was seriously harmed and abuse is known; the rapid "
                "review found learning for the partnership."
            )
            form_field(form, "Decided by").get_by_role("textbox").fill("Independent Chair")
            # Decided On keeps the form's default, the gate's today.
            expect(form_field(form, "Decided on")).to_contain_text(re.compile(r"\b20\d\d\b"))
            page.screenshot(path=str(screenshot), full_page=True)

            form.get_by_role("button", name="Submit").click()
            expect(form).to_have_count(0)
        finally:
            browser.close()


def _wait_for_gate(demo: RunningDemo, rt: Runtime, gate: str, timeout: float = 60.0) -> None:
    """Until the review waits at ``gate``: recorded in the store (the gate is recorded open
    just before the run suspends) and the run suspended in Prefect, so an answer can be
    taken."""
    info = demo.info
    deadline = time.monotonic() + timeout
    with temporary_settings(
        updates={PREFECT_API_URL: f"{info.ui_url}/api", PREFECT_API_AUTH_STRING: auth_string(demo)}
    ):
        while True:
            seen = waiting_at(rt, info.reference)
            state = driver.state_name(info.flow_run_id)
            if seen == gate and state == "Suspended":
                return
            assert time.monotonic() < deadline, (
                f"{info.reference} still waits at {seen!r} ({state}), not {gate!r}"
            )
            time.sleep(0.5)


def _agencies_answer_through_the_portal(demo: RunningDemo, rt: Runtime, tmp_path: Path) -> None:
    """The next part of the review, as the people would do it: the chair confirms the reviewers
    (through the API here), the agencies get their requests, the police open the link in the
    email in a browser and upload their file, the others send theirs; the gate resumes by
    itself and the combined timeline renders."""
    info = demo.info
    with temporary_settings(
        updates={PREFECT_API_URL: f"{info.ui_url}/api", PREFECT_API_AUTH_STRING: auth_string(demo)}
    ):
        driver.resume(info.flow_run_id, answer("reviewer_appointment", "full", rt.today()))
        _wait_for_gate(demo, rt, "terms_of_reference", timeout=90)
        driver.resume(info.flow_run_id, answer("terms_of_reference", "full", rt.today()))
    _wait_for_gate(demo, rt, "timelines_complete", timeout=90)
    requests = [
        m for m in _mail(info.mail_dir) if "Timeline of significant events" in str(m["Subject"])
    ]
    assert len(requests) == 4  # the LCSPR example's four agencies
    links = {}
    for message in requests:
        decoded = "\n".join(
            str(part.get_content())
            for part in message.walk()
            if part.get_content_type() == "text/plain"
        )  # decoded: the stored quoted-printable body breaks long links across lines
        found = re.search(r"http://127\.0\.0\.1:\d+/t/[A-Za-z0-9._-]+", decoded)
        assert found is not None, "a timeline request without its portal link"
        links[str(message["To"])] = found.group(0)
    police_link = links["public.protection@police.northbridge.example"]
    assert police_link.startswith(f"http://127.0.0.1:{demo.portal_port}/t/")

    upload = tmp_path / "police-timeline.csv"
    upload.write_bytes(example_timeline_csv("Northbridge Police", "Child M", date(2026, 11, 14), 1))
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 1200})
            page.goto(police_link, timeout=UI_TIMEOUT_MS)
            expect(page.get_by_role("heading", level=1)).to_have_text(
                f"Timeline of significant events: {info.reference} (Child M)"
            )
            page.locator("input[name=file]").set_input_files(str(upload))
            page.get_by_role("button", name="Upload timeline").click()
            expect(page.get_by_role("status")).to_contain_text(
                "Received: 3 events from Northbridge Police, version 1.", timeout=UI_TIMEOUT_MS
            )
            expect(page.locator("#submitted")).to_contain_text("duty officer")
            page.screenshot(path=str(tmp_path / "portal.png"), full_page=True)

            for seed, (recipient, link) in enumerate(sorted(links.items())):
                if link == police_link:
                    continue
                data = example_timeline_csv(recipient, "Child M", date(2026, 11, 14), seed)
                response = httpx.post(f"{link}/upload", files={"file": ("t.csv", data)}, timeout=30)
                assert response.status_code == 200, response.text
            # The last submission resumed the gate; the served runner takes it from there to
            # Learning Together's first event, the case group conversations.
            _wait_for_gate(demo, rt, "case_group_conversations_arranged", timeout=90)

            with rt.sessions() as session:
                combined = store.combined_timeline(
                    session, store.get_review(session, info.reference)
                )
            assert len(combined.agencies) == 4 and len(combined.entries) == 12
            page_file = tmp_path / "combined.html"
            page_file.write_text(to_html(combined), encoding="utf-8")
            page.goto(page_file.as_uri())
            expect(page.locator("body")).to_contain_text("Northbridge Police")
            expect(page.locator("body")).to_contain_text("Northbridge Homes")
            page.screenshot(path=str(tmp_path / "combined.png"), full_page=True)
        finally:
            browser.close()
    assert (tmp_path / "combined.png").stat().st_size > 10_000


def _business_manager_reads_the_workspace(info: DemoInfo) -> None:
    """Sign in with the password the banner printed; the register and the combined timeline
    show the example review, pseudonymised."""
    assert set(info.new_passwords) == {"business.manager", "chair"}
    with httpx.Client(base_url=info.workspace_url, timeout=30) as client:
        login = client.get("/login").text
        found = re.search(r'name="csrf_token" value="([^"]+)"', login)
        assert found is not None
        signed_in = client.post(
            "/login",
            data={
                "username": "business.manager",
                "password": info.new_passwords["business.manager"],
                "csrf_token": found.group(1),
            },
        )
        assert signed_in.status_code == 303
        register = client.get("/reviews").text
        assert info.reference in register and "Child M" in register
        timeline = client.get(f"/reviews/{info.reference}/timeline").text
        assert "Northbridge Police" in timeline
        assert REAL_NAME not in register + timeline


def _a_second_terminal_prints_a_link_the_portal_accepts(demo: RunningDemo, reference: str) -> None:
    """Issue 21: ``reviews timeline link`` from another shell in the demo's directory (no
    secret in its environment) signs with the key the demo drew into var/, so the demo's
    portal opens the link; a link signed with anything else is refused."""
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "REVIEWS_PORTAL_SECRET"}
    env["REVIEWS_PORTAL_URL"] = f"http://127.0.0.1:{demo.portal_port}"
    printed = subprocess.run(
        [
            sys.executable,
            "-m",
            "case_reviews",
            "timeline",
            "link",
            reference,
            "--agency",
            "Northbridge Police",
        ],
        cwd=demo.var_dir.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert printed.returncode == 0, printed.stderr
    link = printed.stdout.strip().splitlines()[-1]
    assert link.startswith(env["REVIEWS_PORTAL_URL"] + "/t/")
    assert httpx.get(link, timeout=30).status_code == 200
    assert httpx.get(link[:-3] + "xyz", timeout=30).status_code == 403


def test_demo_brings_a_review_to_the_chair_who_decides_in_the_ui(
    demo: RunningDemo, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    info = demo.info
    rt = Runtime.from_settings(Settings())
    assert info.ui_url == f"http://127.0.0.1:{demo.prefect_port}"
    assert info.run_url == f"{info.ui_url}/runs/flow-run/{info.flow_run_id}"
    assert info.mail_dir == demo.var_dir.resolve() / "mail"
    assert waiting_at(rt, info.reference) == "chair_decision"
    services = _services(demo.var_dir.resolve() / "prefect")
    assert len(services) >= 2, "the Prefect server and deployments.serve should be running"
    # The review's runs were started from serve's fork server, which warmed the flows once.
    commands = [_command(pid) for pid in services]
    assert any(b"multiprocessing.forkserver" in c and b"deployments.warm" in c for c in commands)

    # Closed by default: the API refuses a client without the auth string; the string was
    # printed once, and is kept owner-only under var/.
    auth = auth_string(demo)
    assert (demo.var_dir / "prefect-auth-string").stat().st_mode & 0o077 == 0
    assert auth in demo.printed_until_ready
    assert httpx.post(f"{info.ui_url}/api/flow_runs/filter", json={}).status_code == 401
    portal_secret = (demo.var_dir / "portal-secret").read_text().strip()
    assert len(portal_secret) >= 32

    screenshot = tmp_path / "chair-form.png"
    _decide_in_the_ui(info, screenshot, auth)
    assert screenshot.stat().st_size > 10_000

    _wait_for_gate(demo, rt, "reviewer_appointment")
    with rt.sessions() as session:
        review = store.get_review(session, info.reference)
        decision = session.scalars(
            select(Decision).where(
                Decision.review_id == review.id, Decision.kind == "chair_decision"
            )
        ).one()
    assert decision.outcome == "full_review"
    assert decision.methodology == "SCIE Learning Together"
    assert decision.lead_reviewers == ["Dr Alex Reviewer"]
    assert decision.decided_by == "Independent Chair"

    mail = _mail(info.mail_dir)
    subjects = [str(m["Subject"]) for m in mail]
    assert f"[{info.reference}] Decision needed: Chair's decision" in subjects
    chair_mail = next(m for m in mail if "Chair's decision" in str(m["Subject"]))
    assert "chair@northbridge-scp.example" in str(chair_mail["To"])
    assert info.run_url in _text_of(chair_mail)
    for message in mail:
        text = _text_of(message)
        assert REAL_NAME not in text
        assert "Okonkwo" not in text
    assert not any(
        b"Okonkwo" in path.read_bytes() for path in info.mail_dir.iterdir() if path.is_file()
    )

    _agencies_answer_through_the_portal(demo, rt, tmp_path)
    _a_second_terminal_prints_a_link_the_portal_accepts(demo, info.reference)
    _business_manager_reads_the_workspace(info)

    demo.stop.set()
    demo.thread.join(90)
    assert not demo.thread.is_alive(), "up() did not return after stop_event was set"
    assert demo.errors == []
    assert not [pid for pid in services if _alive(pid)]
    assert _services(demo.var_dir.resolve() / "prefect") == set()
    assert _port_free(demo.prefect_port)
    assert _port_free(demo.smtp_port)
    assert _port_free(demo.portal_port)
    assert _port_free(int(info.workspace_url.rsplit(":", 1)[1]))

    printed = demo.printed_until_ready + capsys.readouterr().out
    for promised in (
        info.ui_url,
        info.run_url,
        str(info.mail_dir),
        "Press Ctrl-C to stop",
        info.workspace_url,
        f"business.manager  {info.new_passwords['business.manager']}",
        f"REVIEWS_PREFECT_API_URL={info.ui_url}/api",
        "Decision needed: Chair's decision",  # the catcher's line per message
        "demo stopped",
    ):
        assert promised in printed
