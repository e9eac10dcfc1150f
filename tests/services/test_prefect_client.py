"""Our own Prefect clients share one TLS context per setting, built as Prefect's would be."""

from __future__ import annotations

import ssl

import certifi
from prefect.settings import (
    PREFECT_API_SSL_CERT_FILE,
    PREFECT_API_TLS_INSECURE_SKIP_VERIFY,
    PREFECT_API_URL,
    temporary_settings,
)

from services.prefect_client import prefect_client


def _context_of(client: object) -> ssl.SSLContext:
    # httpx keeps the context it was given on its connection pool
    return client._client._transport._pool._ssl_context  # type: ignore[attr-defined,no-any-return]


def test_clients_share_one_verifying_context() -> None:
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        first, second = prefect_client(), prefect_client()
    assert first is not second
    assert _context_of(first) is _context_of(second)
    assert _context_of(first).verify_mode is ssl.CERT_REQUIRED
    assert _context_of(first).check_hostname


def test_the_settings_choose_the_context() -> None:
    with temporary_settings(
        updates={
            PREFECT_API_URL: "https://prefect.example/api",
            PREFECT_API_TLS_INSECURE_SKIP_VERIFY: True,
        }
    ):
        unverified = _context_of(prefect_client())
    assert unverified.verify_mode is ssl.CERT_NONE and not unverified.check_hostname
    with temporary_settings(
        updates={
            PREFECT_API_URL: "https://prefect.example/api",
            PREFECT_API_SSL_CERT_FILE: certifi.where(),
        }
    ):
        own_bundle = _context_of(prefect_client())
    assert own_bundle.verify_mode is ssl.CERT_REQUIRED
    assert own_bundle is not unverified
