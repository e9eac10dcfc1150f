"""A resume the Prefect server refuses with 503 is tried again at once, not after Prefect's
client's 2 s pause.

A Prefect server on SQLite answers 503 when the resume's write collides with another write
(a run's logs, events or state); nothing is stored, so sending the answer again is safe. Such a
collision cannot be caused on demand, so the server here is a stand-in (a plain HTTP server)
that answers 503 a given number of times and then accepts, as Prefect's resume endpoint does.
Prefect's own retries are off (``PREFECT_CLIENT_MAX_RETRIES=0``), so only ours are counted.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from uuid import uuid4

import httpx
import pytest
from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings

from services.resume import BUSY_RETRY_PAUSES, ResumeStatus, resume_gate


class BusyPrefect(ThreadingHTTPServer):
    def __init__(self, busy_answers: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.busy_answers = busy_answers
        self.resumes: list[dict[str, object]] = []


class _Handler(BaseHTTPRequestHandler):
    server: BusyPrefect

    def do_GET(self) -> None:
        # The client asks for a CSRF token first; 404 is what a server without CSRF answers.
        self._answer(404, {"detail": "Not Found"})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        assert self.path.endswith("/resume"), self.path
        self.server.resumes.append(body)
        if len(self.server.resumes) <= self.server.busy_answers:
            self._answer(503, {"exception_message": "Service Unavailable"})
        else:
            accepted = {"state": None, "status": "ACCEPT", "details": {"type": "accept_details"}}
            self._answer(200, accepted)

    def _answer(self, status: int, payload: object) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def busy_prefect(request: pytest.FixtureRequest) -> Iterator[BusyPrefect]:
    server = BusyPrefect(request.param)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{server.server_address[1]}/api"
    with temporary_settings(updates={PREFECT_API_URL: url, PREFECT_CLIENT_MAX_RETRIES: 0}):
        yield server
    server.shutdown()
    server.server_close()


ANSWER = {"decision": "full_review", "rationale": "Reg 5(2) is met."}


@pytest.mark.parametrize("busy_prefect", [2], indirect=True)
def test_a_busy_answer_is_sent_again_and_taken(busy_prefect: BusyPrefect) -> None:
    outcome = resume_gate(uuid4(), ANSWER)
    assert outcome.status is ResumeStatus.ACCEPTED
    assert busy_prefect.resumes == [{"run_input": ANSWER}] * 3


@pytest.mark.parametrize("busy_prefect", [100], indirect=True)
def test_a_server_busy_for_long_is_reported_not_taken(busy_prefect: BusyPrefect) -> None:
    with pytest.raises(httpx.HTTPStatusError) as raised:
        resume_gate(uuid4(), ANSWER)
    assert raised.value.response.status_code == 503
    # the quick attempts, then one with Prefect's own retries (none here)
    assert len(busy_prefect.resumes) == len(BUSY_RETRY_PAUSES) + 1
