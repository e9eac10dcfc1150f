"""Which Prefect server the command line talks to: the board's own, never a temporary one.

Prefect's client starts a temporary (ephemeral) server of its own whenever no API URL is set:
a CLI command would then create runs on a server no deployment is served from ("Deployment
not found"). :func:`board_prefect_server` sets the API URL from ``REVIEWS_PREFECT_API_URL``
(an explicit ``PREFECT_API_URL`` in the environment wins) and checks the server answers, so
an unreachable server is one clear line naming the setting. Only ``reviews simulate`` runs a
temporary server, and it does not come through here.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
from prefect.settings import PREFECT_API_URL, temporary_settings

from core.config import Settings

SETTING = "REVIEWS_PREFECT_API_URL"
PREFECT_SETTING = "PREFECT_API_URL"
HEALTH_TIMEOUT = 5.0


class PrefectUnreachable(RuntimeError):
    """The configured Prefect server does not answer; the message names the setting."""


@dataclass(frozen=True)
class PrefectServer:
    api_url: str
    setting: str  # which setting named it, for messages


def configured_server(settings: Settings) -> PrefectServer:
    """The server the CLI should use: ``PREFECT_API_URL`` if the environment sets it
    explicitly, otherwise ``REVIEWS_PREFECT_API_URL`` (default: the demo's server)."""
    # Prefect's own variable, read where Prefect reads it: only to let it win explicitly.
    explicit = os.environ.get(PREFECT_SETTING, "").strip()
    if explicit:
        return PrefectServer(explicit.rstrip("/"), PREFECT_SETTING)
    return PrefectServer(settings.prefect_api_url.rstrip("/"), SETTING)


def server_health(api_url: str) -> str | None:
    """None if the Prefect API at ``api_url`` answers its health check, else why not (short)."""
    try:
        response = httpx.get(f"{api_url.rstrip('/')}/health", timeout=HEALTH_TIMEOUT)
    except httpx.HTTPError as exc:
        return exc.__class__.__name__
    return None if response.status_code == 200 else f"HTTP {response.status_code}"


def check_reachable(server: PrefectServer) -> None:
    """Raise :class:`PrefectUnreachable` unless ``server`` answers its health check."""
    why = server_health(server.api_url)
    if why is not None:
        raise PrefectUnreachable(
            f"the Prefect server is not reachable at {server.api_url} ({why}): {fix(server)}"
        )


def fix(server: PrefectServer) -> str:
    """What to do about an unreachable server, naming the setting that chose it."""
    return f"set {server.setting} to the board's Prefect server, or start it with 'reviews up'"


@contextmanager
def board_prefect_server(settings: Settings) -> Iterator[PrefectServer]:
    """Within the block every Prefect client talks to the board's server (see the module
    docstring), never a temporary one."""
    server = configured_server(settings)
    with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
        yield server


__all__ = [
    "PrefectServer",
    "PrefectUnreachable",
    "board_prefect_server",
    "check_reachable",
    "configured_server",
    "fix",
    "server_health",
]
