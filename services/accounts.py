"""Workspace accounts: Argon2 password hashes, sign-in with lock-out, sign-out, and adding,
disabling, re-passwording or re-roling users (``reviews users``). Every lock-out, sign-in
and change is in the audit trail; sign-out, disabling, a new password or a new role ends every
session issued before it (the user's session generation, signed into each cookie).

Times are the runtime's clock, so tests move past a lock-out instead of waiting for it.
"""

from __future__ import annotations

import enum
import functools
from dataclasses import dataclass
from datetime import datetime, timedelta

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from core.config import Settings
from models import store
from models import workspace_store as ws
from models.orm import WorkspaceLoginFailure, WorkspaceRole, WorkspaceUser
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
    generation: int = 0


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


def _end_sessions(user: WorkspaceUser) -> None:
    user.session_generation = (user.session_generation or 0) + 1


def disable_user(rt: Runtime, username: str) -> None:
    """Disable a user: they can no longer sign in, and every session they hold ends."""
    with rt.sessions.begin() as session:
        user = ws.get_user(session, username)
        user.disabled = True
        _end_sessions(user)
        store.record_audit(
            session,
            None,
            rt.settings.operator,
            "workspace_user_disabled",
            {"username": user.username},
            rt.now(),
        )


def reset_password(rt: Runtime, username: str, password: str, actor: str) -> None:
    """Give a user a new password (and lift a lock-out); every session they hold ends.
    Audited (never the password). Raises :class:`AccountRefused` or ``UserNotFound``."""
    password_hash = hash_password(password)
    with rt.sessions.begin() as session:
        user = ws.get_user(session, username)
        user.password_hash = password_hash
        user.failed_logins = 0
        user.locked_until = None
        _end_sessions(user)
        store.record_audit(
            session, None, actor, "workspace_password_reset", {"username": user.username}, rt.now()
        )


def set_role(rt: Runtime, username: str, role: WorkspaceRole, actor: str) -> None:
    """Change a user's role; every session they hold ends (they sign in again). Audited."""
    with rt.sessions.begin() as session:
        user = ws.get_user(session, username)
        before = user.role
        user.role = role
        _end_sessions(user)
        store.record_audit(
            session,
            None,
            actor,
            "workspace_role_changed",
            {"username": user.username, "from": before.value, "to": role.value},
            rt.now(),
        )


def sign_out(rt: Runtime, username: str, generation: int) -> None:
    """End every session of ``username`` issued at ``generation`` (the one signing out and any
    copy of its cookie). Audited; signing out of an already ended session changes nothing."""
    with rt.sessions.begin() as session:
        user = ws.find_user(session, username)
        if user is None or user.session_generation != generation:
            return
        _end_sessions(user)
        store.record_audit(session, None, user.username, "workspace_signed_out", {}, rt.now())


def active_user(rt: Runtime, username: str) -> WorkspaceUser | None:
    """The user if it exists and is not disabled (read for every request of a session)."""
    with rt.sessions() as session:
        user = ws.find_user(session, username)
        if user is None or user.disabled:
            return None
        session.expunge(user)
        return user


def _failed(
    settings: Settings, counter: WorkspaceUser | WorkspaceLoginFailure, now: datetime
) -> bool:
    """Count a failed sign-in; whether it locks the name now."""
    counter.failed_logins = (counter.failed_logins or 0) + 1
    locked = counter.failed_logins >= settings.workspace_max_failed_logins
    if locked:
        counter.locked_until = now + timedelta(minutes=settings.workspace_lockout_minutes)
        counter.failed_logins = 0
    return locked


def sign_in(rt: Runtime, username: str, password: str) -> SignInResult:
    """Check a password. After ``workspace_max_failed_logins`` failures in a row the name is
    locked for ``workspace_lockout_minutes`` (audited); a locked name refuses even the right
    password until then. A name that is no active account is counted and locked the same
    way, and every path checks one Argon2 hash, so neither the replies nor their timing tell
    which usernames exist."""
    settings = rt.settings
    now = rt.now()
    name = username.strip()
    with rt.sessions.begin() as session:
        user = ws.find_user(session, name)
        counter: WorkspaceUser | WorkspaceLoginFailure
        if user is None or user.disabled:
            key = name.lower()[:200]
            found = session.get(WorkspaceLoginFailure, key)
            if found is None:
                found = WorkspaceLoginFailure(username=key, failed_logins=0, locked_until=None)
                session.add(found)
            counter, known = found, False
        else:
            counter, known = user, True
        stored = user.password_hash if known and user is not None else _dummy_hash()
        right = _verify(stored, password)  # on every path: the same work for any name
        if counter.locked_until is not None and counter.locked_until > now:
            return SignInResult(SignIn.LOCKED)
        if not (known and right):
            locked = _failed(settings, counter, now)
            detail = {"reason": "wrong password" if known else "unknown or disabled user"}
            if locked and counter.locked_until is not None:
                detail["locked_until"] = counter.locked_until.isoformat()
            store.record_audit(
                session,
                None,
                (user.username if known and user is not None else name[:200]) or "(blank)",
                "workspace_account_locked" if locked else "workspace_login_refused",
                detail,
                now,
            )
            return SignInResult(SignIn.LOCKED if locked else SignIn.REFUSED)
        assert user is not None
        user.failed_logins = 0
        user.locked_until = None
        if _hasher.check_needs_rehash(user.password_hash):
            user.password_hash = _hasher.hash(password)
        store.record_audit(session, None, user.username, "workspace_signed_in", {}, now)
        return SignInResult(SignIn.OK, user.username, user.role, user.session_generation)


__all__ = [
    "MIN_PASSWORD_LENGTH",
    "AccountRefused",
    "SignIn",
    "SignInResult",
    "active_user",
    "add_user",
    "disable_user",
    "hash_password",
    "reset_password",
    "set_role",
    "sign_in",
    "sign_out",
]
