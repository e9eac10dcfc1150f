"""This process's own Prefect API clients: one TLS context, and quick retries when busy.

Prefect's client builds a new TLS context for every client it makes: it loads the whole
certificate bundle (about 15 ms) even for a plain ``http://`` server. The driver, the sweep's
self-resuming gates and the portal make a client for each call, so here they share one context,
built once per (verify, certificate file) setting. Inside a flow or task run Prefect's own
client is returned instead (it is already open).

A Prefect server on SQLite answers 503 at once when a request's write collides with another
(a run's logs, events or state): nothing was stored and the request can simply be sent again.
Prefect's client does send it again, after the server's ``Retry-After`` or, as the server sends
none, after 2, 4, 8, 16, 32 s (62 s in all): most of the slowest resumes and starts. Our
clients give a busy 503 without ``Retry-After`` the pauses in :data:`BUSY_RETRY_AFTER`: the
first three retries within 1.3 s, the last two long enough that a server which stays
unavailable (a PostgreSQL failover answers 503 too; a SQLite server can hold its lock for a
minute under a large backlog) is waited for as long as before (66 s in all). Prefect's retry
loop and its limit (``PREFECT_CLIENT_MAX_RETRIES``, 5) are unchanged.
"""

from __future__ import annotations

import functools
import ssl

import certifi
import httpx
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


#: Seconds before each retry of a request the server refused as busy (503 without Retry-After);
#: any retry beyond them (a raised PREFECT_CLIENT_MAX_RETRIES) waits as Prefect's client would.
BUSY_RETRY_AFTER = (0.05, 0.25, 1.0, 20.0, 45.0)
_BUSY_TRIES = "case_reviews.busy_tries"  # counted on the request, which each retry sends again


def retry_soon_when_busy(response: httpx.Response) -> None:
    """httpx response hook: give a busy 503 the pause before its next retry."""
    if response.status_code != httpx.codes.SERVICE_UNAVAILABLE:
        return
    if "Retry-After" in response.headers:
        return
    extensions = response.request.extensions
    tries = int(extensions.get(_BUSY_TRIES, 0))
    extensions[_BUSY_TRIES] = tries + 1
    if tries < len(BUSY_RETRY_AFTER):
        response.headers["Retry-After"] = str(BUSY_RETRY_AFTER[tries])


def prefect_client() -> SyncPrefectClient:
    """A synchronous Prefect client (use it as a context manager), with the shared TLS
    context; the run's own client inside a flow or task run."""
    context = SyncClientContext.get()
    if context is not None and context.client is not None:
        return get_client(sync_client=True)
    verify = _tls_context(
        bool(PREFECT_API_TLS_INSECURE_SKIP_VERIFY.value()), PREFECT_API_SSL_CERT_FILE.value()
    )
    return get_client(
        sync_client=True,
        httpx_settings={"verify": verify, "event_hooks": {"response": [retry_soon_when_busy]}},
    )


__all__ = ["BUSY_RETRY_AFTER", "prefect_client", "retry_soon_when_busy"]
