"""Serve the workspace with uvicorn in a background thread (the demo, tests)."""

from __future__ import annotations

from services.background_server import BackgroundServer
from workspace.app import app


class WorkspaceServer(BackgroundServer):
    """The board's workspace on 127.0.0.1:``port`` until :meth:`stop`."""

    def __init__(self, port: int | None = None) -> None:
        super().__init__(app, port, name="board workspace")
