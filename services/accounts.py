"""Workspace accounts: Argon2 password hashes, sign-in with lock-out, and adding or disabling
users (``reviews users``). Every lock-out, sign-in and change is in the audit trail.

Times are the runtime's clock, so tests move past a lock-out instead of waiting for it.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass
from datetime import timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from models import store
from models import workspace_store as ws
from models.orm import WorkspaceRole, WorkspaceUser
from services.runtime import Runtime

MIN_PASSWORD_LENGTH = 12
_hasher = PasswordHasher()


# Verified against when the username is unknown, so a wrong name takes as long as a wrong
# password and the timing does not tell which names exist.
# Hashed on first use (an Argon2 hash takes a noticeable part of a second), not at import.
@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash("not a real password, only here for the timing")


class AccountRefused(ValueError):
    """A new user or password that cannot be taken; the message names the field."""


class SignIn(enum.Enum):
    OK = "ok"
    REFUSED = "refused"  # unknown user, wrong password or disabled: the page says the same
    LOCKED = "locked"


@dataclass(frozen=True)
class SignInResult:
    outcome: SignIn
    username: str | None = None
    role: WorkspaceRole | None = None


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountRefused(f"password: must be at least {MIN_PASSWORD_LENGTH} characters")
    return _hasher.hash(password)


def _verify(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


def add_user(rt: Runtime, username: str, role: WorkspaceRole, password: str) -> None:
    """Add a workspace user (audited). Raises :class:`AccountRefused` or ``UserExists``."""
    username = username.strip()
    if not username:
        raise AccountRefused("username: is required")
    password_hash = hash_password(password)
    with rt.sessions.begin() as session:
        ws.add_user(
            session, username=username, role=role, password_hash=password_hash, now=rt.now()
        )
        store.record_audit(
            session,
            None,
            rt.settings.operator,
            "workspace_user_added",
            {"username": username, "role": role.value},
            rt.now(),
        )


def disable_user(rt: Runtime, username: str) -> None:
    """Disable a user: they can no longer sign in, and a session they hold stops working."""
    with rt.sessions.begin() as session:
        user = ws.get_user(session, username)
        user.disabled = True
        store.record_audit(
            session,
            None,
            rt.settings.operator,
            "workspace_user_disabled",
            {"username": user.username},
            rt.now(),
        )


def active_user(rt: Runtime, username: str) -> WorkspaceUser | None:
    """The user if it exists and is not disabled (read for every request of a session)."""
    with rt.sessions() as session:
        user = ws.find_user(session, username)
        if user is None or user.disabled:
            return None
        session.expunge(user)
        return user


def sign_in(rt: Runtime, username: str, password: str) -> SignInResult:
    """Check a password. After ``workspace_max_failed_logins`` failures in a row the account
    is locked for ``workspace_lockout_minutes`` (audited); a locked account refuses even the
    right password until then."""
    settings = rt.settings
    now = rt.now()
    with rt.sessions.begin() as session:
        user = ws.find_user(session, username.strip())
        if user is None or user.disabled:
            _verify(_dummy_hash(), password)
            store.record_audit(
                session,
                None,
                username[:200] or "(blank)",
                "workspace_login_refused",
                {"reason": "unknown or disabled user"},
                now,
            )
            return SignInResult(SignIn.REFUSED)
        if user.locked_until is not None and user.locked_until > now:
            return SignInResult(SignIn.LOCKED)
        if not _verify(user.password_hash, password):
            user.failed_logins += 1
            locked = user.failed_logins >= settings.workspace_max_failed_logins
            if locked:
                user.locked_until = now + timedelta(minutes=settings.workspace_lockout_minutes)
                user.failed_logins = 0
            detail = {"reason": "wrong password"}
            if locked and user.locked_until is not None:
                detail["locked_until"] = user.locked_until.isoformat()
            store.record_audit(
                session,
                None,
                user.username,
                "workspace_account_locked" if locked else "workspace_login_refused",
                detail,
                now,
            )
            return SignInResult(SignIn.LOCKED if locked else SignIn.REFUSED)
        user.failed_logins = 0
        user.locked_until = None
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
        store.record_audit(session, None, user.username, "workspace_signed_in", {}, now)
        return SignInResult(SignIn.OK, user.username, user.role)


__all__ = [
    "MIN_PASSWORD_LENGTH",
    "AccountRefused",
    "SignIn",
    "SignInResult",
    "active_user",
    "add_user",
    "disable_user",
    "hash_password",
    "sign_in",
]
