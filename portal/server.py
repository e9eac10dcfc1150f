"""Serve the portal with uvicorn in a background thread (the demo, the simulation, tests)."""

from __future__ import annotations

from portal.app import app
from services.background_server import BackgroundServer


class PortalServer(BackgroundServer):
    """The portal on 127.0.0.1:``port`` until :meth:`stop`."""

    def __init__(self, port: int | None = None) -> None:
        super().__init__(app, port, name="agency portal")
