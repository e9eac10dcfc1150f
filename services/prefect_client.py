"""This process's own Prefect API clients, sharing one TLS context.

Prefect's client builds a new TLS context for every client it makes: it loads the whole
certificate bundle (about 15 ms) even for a plain ``http://`` server. The driver, the sweep's
self-resuming gates and the portal make a client for each call, so here they share one context,
built once per (verify, certificate file) setting. Inside a flow or task run Prefect's own
client is returned instead (it is already open).
"""

from __future__ import annotations

import functools
import ssl

import certifi
from prefect import get_client
from prefect.client.orchestration import SyncPrefectClient
from prefect.context import SyncClientContext
from prefect.settings import PREFECT_API_SSL_CERT_FILE, PREFECT_API_TLS_INSECURE_SKIP_VERIFY


@functools.cache
def _tls_context(skip_verify: bool, cert_file: str | None) -> ssl.SSLContext:
    """The context Prefect's client would build for these settings."""
    if skip_verify:
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    return ssl.create_default_context(cafile=cert_file or certifi.where())


def prefect_client() -> SyncPrefectClient:
    """A synchronous Prefect client (use it as a context manager), with the shared TLS
    context; the run's own client inside a flow or task run."""
    context = SyncClientContext.get()
    if context is not None and context.client is not None:
        return get_client(sync_client=True)
    verify = _tls_context(
        bool(PREFECT_API_TLS_INSECURE_SKIP_VERIFY.value()), PREFECT_API_SSL_CERT_FILE.value()
    )
    return get_client(sync_client=True, httpx_settings={"verify": verify})


__all__ = ["prefect_client"]
