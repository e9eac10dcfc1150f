"""One security-headers middleware per app: a strict CSP, nosniff, no framing, the app's
Referrer-Policy, no-store on pages, HSTS over https."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
from typing import Any

import httpx

from core.web import SecurityHeaders
from portal.server import PortalServer
from tests.workspace.conftest import Workspace


def assert_strict(headers: httpx.Headers, referrer: str) -> None:
    csp = headers["content-security-policy"]
    assert "script-src 'self';" in csp and "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp and "img-src 'self'" in csp
    assert "default-src 'none'" in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"
    assert headers["referrer-policy"] == referrer


def test_workspace_pages_carry_the_headers_signed_in_or_not(workspace: Workspace) -> None:
    with workspace.client() as client:
        login = client.get("/login")
        assert_strict(login.headers, "same-origin")
        assert login.headers["cache-control"] == "no-store"
        assert "strict-transport-security" not in login.headers  # plain http
        css = client.get("/static/workspace.css")
        assert css.status_code == 200 and "cache-control" not in css.headers
        assert_strict(css.headers, "same-origin")
    with workspace.signed_in("bm") as client:
        page = client.get(f"/reviews/{workspace.reference}")
        assert page.status_code == 200
        assert_strict(page.headers, "same-origin")
        assert page.headers["cache-control"] == "no-store"
        timeline = client.get(f"/reviews/{workspace.reference}/timeline")
        assert_strict(timeline.headers, "same-origin")
        # The timeline page's own style block is allowed by its hash, nothing else inline.
        (style,) = re.findall(r"<style[^>]*>(.*?)</style>", timeline.text, re.DOTALL)
        digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
        assert f"'sha256-{digest}'" in timeline.headers["content-security-policy"]
        assert "<script" not in page.text + timeline.text


def test_portal_pages_send_no_referrer_and_are_never_cached(workspace: Workspace) -> None:
    with PortalServer() as server:
        refused = httpx.get(f"{server.url}/t/not-a-token", timeout=30)
    assert refused.status_code in {403, 404}
    assert_strict(refused.headers, "no-referrer")
    assert refused.headers["cache-control"] == "no-store"


def _call(app: SecurityHeaders, scheme: str) -> dict[bytes, bytes]:
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(dict(message))

    scope = {"type": "http", "scheme": scheme, "path": "/t/x", "method": "GET", "headers": []}
    asyncio.run(app(scope, receive, send))
    return dict(sent[0]["headers"])


def test_hsts_only_over_https() -> None:
    async def page(scope: Any, receive: Any, send: Any) -> None:
        html = b"<!doctype html><style>p{}</style><p>hi"
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/html; charset=utf-8")],
            }
        )
        await send({"type": "http.response.body", "body": html[:10], "more_body": True})
        await send({"type": "http.response.body", "body": html[10:]})

    app = SecurityHeaders(page, referrer_policy="no-referrer")
    secure, plain = _call(app, "https"), _call(app, "http")
    assert secure[b"strict-transport-security"].startswith(b"max-age=31536000")
    assert b"strict-transport-security" not in plain
    digest = base64.b64encode(hashlib.sha256(b"p{}").digest()).decode()
    assert f"'sha256-{digest}'".encode() in plain[b"content-security-policy"]
