"""A request the Prefect server refuses as busy (503) is sent again soon, not after Prefect's
client's 2, 4, 8… s.

A Prefect server on SQLite answers 503 when a request's write collides with another write (a
run's logs, events or state); nothing is stored, so sending it again is safe. Such a collision
cannot be caused on demand, so the server here is a stand-in (a plain HTTP server) that answers
503 a given number of times and then accepts, as Prefect's resume endpoint does.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from uuid import uuid4

import httpx
import pytest
from prefect.settings import PREFECT_API_URL, PREFECT_CLIENT_MAX_RETRIES, temporary_settings

from services.prefect_client import BUSY_RETRY_AFTER, retry_soon_when_busy
from services.resume import ResumeStatus, resume_gate


class BusyPrefect(ThreadingHTTPServer):
    def __init__(self, busy_answers: int) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.busy_answers = busy_answers
        self.resumes: list[dict[str, object]] = []
        self.arrivals: list[float] = []


class _Handler(BaseHTTPRequestHandler):
    server: BusyPrefect

    def do_GET(self) -> None:
        # The client asks for a CSRF token first; 404 is what a server without CSRF answers.
        self._answer(404, {"detail": "Not Found"})

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        assert self.path.endswith("/resume"), self.path
        self.server.resumes.append(body)
        self.server.arrivals.append(time.monotonic())
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
    # two retries, after 0.05 s and 0.25 s (Prefect's client alone: 2 s and 4 s)
    with temporary_settings(updates={PREFECT_API_URL: url, PREFECT_CLIENT_MAX_RETRIES: 2}):
        yield server
    server.shutdown()
    server.server_close()


ANSWER = {"decision": "full_review", "rationale": "Reg 5(2) is met."}


@pytest.mark.parametrize("busy_prefect", [2], indirect=True)
def test_a_busy_answer_is_sent_again_and_taken(busy_prefect: BusyPrefect) -> None:
    outcome = resume_gate(uuid4(), ANSWER)
    assert outcome.status is ResumeStatus.ACCEPTED
    assert busy_prefect.resumes == [{"run_input": ANSWER}] * 3
    # sent again after our pauses, well before Prefect's own (2 s, less at most 20% jitter)
    first, second, third = busy_prefect.arrivals
    assert second - first < 1.0 and third - second < 1.0


@pytest.mark.parametrize("busy_prefect", [100], indirect=True)
def test_a_server_busy_for_long_is_reported_not_taken(busy_prefect: BusyPrefect) -> None:
    with pytest.raises(httpx.HTTPStatusError) as raised:
        resume_gate(uuid4(), ANSWER)
    assert raised.value.response.status_code == 503
    assert len(busy_prefect.resumes) == 1 + 2  # Prefect's retry limit still holds


def _busy(request: httpx.Request, **headers: str) -> httpx.Response:
    return httpx.Response(503, headers=headers, request=request)


def test_each_retry_of_a_busy_request_waits_the_next_pause() -> None:
    request = httpx.Request("POST", "http://prefect.example/api/flow_runs/filter")
    waits = []
    for _ in range(len(BUSY_RETRY_AFTER) + 2):
        response = _busy(request)
        retry_soon_when_busy(response)
        waits.append(response.headers.get("Retry-After"))
    # ours first (Prefect's own first pause is 2 s), then Prefect's backoff (no header)
    assert waits == [str(w) for w in BUSY_RETRY_AFTER] + [None, None]
    assert BUSY_RETRY_AFTER[0] < 0.1
    # a second request starts from the first pause again
    again = _busy(httpx.Request("POST", "http://prefect.example/api/flow_runs/filter"))
    retry_soon_when_busy(again)
    assert float(again.headers["Retry-After"]) == BUSY_RETRY_AFTER[0]


def test_the_servers_own_retry_after_and_other_answers_are_left_alone() -> None:
    request = httpx.Request("GET", "http://prefect.example/api/health")
    told = _busy(request, **{"Retry-After": "30"})
    retry_soon_when_busy(told)
    assert told.headers["Retry-After"] == "30"
    for status in (200, 409, 429, 500):
        response = httpx.Response(status, request=request)
        retry_soon_when_busy(response)
        assert "Retry-After" not in response.headers
