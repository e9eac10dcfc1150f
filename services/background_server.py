"""Serve an ASGI app with uvicorn in a background thread (the demo, the simulation, tests):
the agency portal and the board's workspace both run this way."""

from __future__ import annotations

import argparse
import contextvars
import sys
import threading
import time
from collections.abc import Callable
from typing import Any, Self

import uvicorn

from core.secrets import InsecureSetting
from notifications.smtp_catcher import free_port


class BackgroundServer:
    """``app`` on 127.0.0.1:``port`` until :meth:`stop`."""

    def __init__(self, app: Any, port: int | None = None, *, name: str = "server") -> None:
        self.name = name
        self.port = port or free_port()
        self._server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=self.port, log_level="warning")
        )
        # Run in a copy of the caller's context: Prefect's settings (the API URL gates are
        # resumed through) live in context variables, which a new thread would not see.
        context = contextvars.copy_context()
        self._thread = threading.Thread(
            target=context.run, args=(self._server.run,), name=name, daemon=True
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20) -> Self:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"the {self.name} did not start on port {self.port}")
            time.sleep(0.05)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(10)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def serve_in_production(
    name: str, default_port: int, check_secret: Callable[[str], None], secret: str
) -> None:
    """``python -m portal`` / ``python -m workspace``: serve ``{name}.app:app`` in the foreground
    behind the board's TLS proxy. Refuses to start, with one line naming the setting, while its
    signing ``secret`` is the published default (anyone could forge what it signs)."""
    parser = argparse.ArgumentParser(prog=f"python -m {name}")
    parser.add_argument("--host", default="127.0.0.1", help="listen here (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=default_port, help="listen on this port")
    args = parser.parse_args()
    try:
        check_secret(secret)
    except InsecureSetting as exc:
        print(f"{name}: refusing to start: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    # The proxy in front terminates TLS and sets X-Forwarded-*; trust only it (loopback).
    uvicorn.run(
        f"{name}.app:app",
        host=args.host,
        port=args.port,
        proxy_headers=True,
        forwarded_allow_ips="127.0.0.1",
        log_level="info",
    )
