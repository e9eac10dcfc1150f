"""Security headers for the workspace and the portal: one ASGI middleware, one per app.

Every response gets a strict Content-Security-Policy (scripts only from the app itself, none
inline; no framing; images only from the app), ``X-Content-Type-Options: nosniff``, the app's
Referrer-Policy and, over https, HSTS. Pages (everything outside ``/static/``) are
``Cache-Control: no-store``: each is a token page (portal) or a signed-in page (workspace).
An HTML page's own ``<style>`` blocks (the pages share templates with the exports, which must
stand alone) are allowed by their SHA-256 hash, never by ``'unsafe-inline'``.

A plain ASGI middleware (no framework import), so it sits in the lowest layer.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

__all__ = ["SecurityHeaders", "content_security_policy"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_STYLE = re.compile(rb"<style[^>]*>(.*?)</style>", re.DOTALL | re.IGNORECASE)
HSTS = "max-age=31536000; includeSubDomains"


def content_security_policy(style_hashes: list[str] | tuple[str, ...] = ()) -> str:
    """The policy: nothing from elsewhere, no inline script, no framing (``style_hashes``:
    the ``'sha256-…'`` sources of a page's own style blocks)."""
    styles = " ".join(["'self'", *style_hashes])
    return (
        "default-src 'none'; script-src 'self'; "
        f"style-src {styles}; img-src 'self'; font-src 'self'; connect-src 'self'; "
        "form-action 'self'; base-uri 'none'; object-src 'none'; frame-ancestors 'none'"
    )


def _style_hashes(body: bytes) -> list[str]:
    hashes = []
    for block in _STYLE.findall(body):
        digest = base64.b64encode(hashlib.sha256(block).digest()).decode("ascii")
        hashes.append(f"'sha256-{digest}'")
    return hashes


class SecurityHeaders:
    """Add the security headers to every HTTP response of ``app`` (a header the app set
    itself is kept). ``referrer_policy``: ``no-referrer`` for the portal (its URLs carry
    tokens), ``same-origin`` for the workspace."""

    def __init__(self, app: ASGIApp, *, referrer_policy: str, cached: str = "/static/") -> None:
        self.app = app
        self.referrer_policy = referrer_policy
        self.cached = cached

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"
        page = not str(scope.get("path", "")).startswith(self.cached)
        held: list[Message] = []

        def headers_for(start: Message, body: bytes) -> Message:
            raw: list[tuple[bytes, bytes]] = list(start.get("headers", []))
            names = {name.lower() for name, _ in raw}
            wanted = {
                b"content-security-policy": content_security_policy(_style_hashes(body)),
                b"x-content-type-options": "nosniff",
                b"x-frame-options": "DENY",
                b"referrer-policy": self.referrer_policy,
            }
            if page:
                wanted[b"cache-control"] = "no-store"
            if https:
                wanted[b"strict-transport-security"] = HSTS
            raw += [(name, value.encode()) for name, value in wanted.items() if name not in names]
            return {**start, "headers": raw}

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                content_type = dict(message.get("headers", [])).get(b"content-type", b"")
                if content_type.startswith(b"text/html"):
                    held.append(message)  # its style blocks are hashed once the body is in
                    return
                await send(headers_for(message, b""))
                return
            if held and message["type"] == "http.response.body":
                held.append(message)
                if message.get("more_body", False):
                    return
                body = b"".join(m.get("body", b"") for m in held[1:])
                await send(headers_for(held[0], body))
                await send({"type": "http.response.body", "body": body, "more_body": False})
                held.clear()
                return
            await send(message)

        await self.app(scope, receive, send_with_headers)
