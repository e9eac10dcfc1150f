"""The one bare page every refused link gets (expired, tampered or foreign): it reveals
nothing; why goes to our log only."""

from __future__ import annotations

import logging

from fastapi.responses import HTMLResponse

log = logging.getLogger("portal")


def forbidden(reason: Exception | None = None) -> HTMLResponse:
    """The same bare 403 page for every refused link."""
    log.warning("portal link refused: %s", reason)
    return HTMLResponse(
        '<!doctype html><html lang="en-GB"><head><meta charset="utf-8">'
        "<title>Link not valid</title></head><body><main><h1>This link is not valid</h1>"
        "<p>It may have expired. Please ask the board's business manager for a new one.</p>"
        "</main></body></html>",
        status_code=403,
    )
