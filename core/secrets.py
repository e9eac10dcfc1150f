"""Secrets the system generates for itself and keeps in files only its owner can read.

The demo (``reviews up``) draws the Prefect API auth string and the portal's link-signing key
on its first start and keeps them under ``var/`` (mode 0600); later starts and the CLI read
them back. Production sets its own (see README, "Production").
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from core.files import private_dir

#: The portal secret's published default: links signed with it can be forged by anyone.
DEFAULT_PORTAL_SECRET = "change-me-in-production"
#: Prefect reads its client's auth string from this variable (the server's is
#: ``PREFECT_SERVER_API_AUTH_STRING``).
PREFECT_AUTH_VARIABLE = "PREFECT_API_AUTH_STRING"


class InsecureSetting(ValueError):
    """A setting that would leave the system open; the message names it and the fix."""


def read_or_create_secret(path: Path) -> tuple[str, bool]:
    """The secret stored at ``path``, drawn now (32 random bytes, URL-safe) if there is none.

    Returns the secret and whether it was created by this call. The file is created with mode
    0600 atomically (``O_EXCL``), so two first starts cannot write different secrets.
    """
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        value = path.read_text(encoding="utf-8").strip()
        if not value:
            raise InsecureSetting(f"{path}: is empty; remove it to draw a new secret") from None
        return value, False
    value = secrets.token_urlsafe(32)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    return value, True


def read_stored_secret(path: Path) -> str | None:
    """The secret the demo stored at ``path``, or None if there is no such (non-empty) file."""
    try:
        value = path.read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
        return None
    return value or None


def use_stored_prefect_auth(path: Path) -> None:
    """Give this process's Prefect client the auth string stored at ``path`` (by the demo),
    unless ``PREFECT_API_AUTH_STRING`` is set already. Call before Prefect is imported: it
    reads its settings once."""
    if PREFECT_AUTH_VARIABLE in os.environ:
        return
    value = read_stored_secret(path)
    if value is not None:
        os.environ[PREFECT_AUTH_VARIABLE] = value


def check_signing_secret(setting: str, variable: str, secret: str, forged: str) -> None:
    """Refuse the published default (or a short) signing secret, naming the setting."""
    if secret == DEFAULT_PORTAL_SECRET:
        raise InsecureSetting(
            f"{setting}: {variable} is the published default, so anyone could forge {forged}; "
            "set it to a long random value, e.g. the output of "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    if len(secret) < 32:
        raise InsecureSetting(
            f"{setting}: {variable} is shorter than 32 characters; use a long random value"
        )


def check_portal_secret(secret: str) -> None:
    """Refuse the published default (or a short) portal secret, naming the setting."""
    check_signing_secret("portal_secret", "REVIEWS_PORTAL_SECRET", secret, "an agency link")


def check_workspace_secret(secret: str) -> None:
    """Refuse the published default (or a short) workspace secret, naming the setting."""
    check_signing_secret(
        "workspace_secret", "REVIEWS_WORKSPACE_SECRET", secret, "a workspace sign-in"
    )
