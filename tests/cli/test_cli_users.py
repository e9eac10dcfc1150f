"""``reviews users add/disable``: passwords hashed, bad input named, disabling audited."""

from __future__ import annotations

from sqlalchemy import select
from typer.testing import CliRunner

from case_reviews.cli import app
from models import workspace_store as ws
from models.orm import AuditEvent, WorkspaceRole
from services.accounts import SignIn, sign_in
from services.runtime import Runtime

runner = CliRunner()


def test_users_add_reads_the_password_from_stdin_and_stores_only_a_hash(sqlite_rt: Runtime) -> None:
    password = "a long enough passphrase"
    result = runner.invoke(app, ["users", "add", "Sam", "--role", "chair"], input=password + "\n")
    assert result.exit_code == 0, result.stderr
    with sqlite_rt.sessions() as session:
        user = ws.get_user(session, "sam")
        assert user.role is WorkspaceRole.CHAIR
        assert password not in user.password_hash and user.password_hash.startswith("$argon2")
    assert sign_in(sqlite_rt, "Sam", password).outcome is SignIn.OK


def test_users_add_refuses_a_bad_role_a_short_password_and_a_taken_name(sqlite_rt: Runtime) -> None:
    bad_role = runner.invoke(app, ["users", "add", "kim", "--role", "admin"], input="x" * 20)
    assert bad_role.exit_code == 2 and "--role: 'admin' is not a role" in bad_role.stderr
    short = runner.invoke(app, ["users", "add", "kim", "--role", "read_only"], input="short\n")
    assert short.exit_code == 2 and "password: must be at least 12 characters" in short.stderr
    ok = runner.invoke(app, ["users", "add", "kim", "--role", "read_only"], input="y" * 14)
    assert ok.exit_code == 0
    taken = runner.invoke(app, ["users", "add", "KIM", "--role", "chair"], input="z" * 14)
    assert taken.exit_code == 2 and "username: 'KIM' exists already" in taken.stderr


def test_users_disable_stops_sign_in_and_is_audited(sqlite_rt: Runtime) -> None:
    runner.invoke(app, ["users", "add", "lee", "--role", "committee_member"], input="w" * 14)
    result = runner.invoke(app, ["users", "disable", "lee"])
    assert result.exit_code == 0
    assert sign_in(sqlite_rt, "lee", "w" * 14).outcome is SignIn.REFUSED
    with sqlite_rt.sessions() as session:
        actions = set(session.scalars(select(AuditEvent.action)))
    assert {"workspace_user_added", "workspace_user_disabled"} <= actions
    missing = runner.invoke(app, ["users", "disable", "nobody"])
    assert missing.exit_code == 2 and "no workspace user 'nobody'" in missing.stderr


def test_users_reset_password_and_set_role_end_sessions_and_are_audited(
    sqlite_rt: Runtime,
) -> None:
    runner.invoke(app, ["users", "add", "ash", "--role", "chair"], input="v" * 14)
    before = sign_in(sqlite_rt, "ash", "v" * 14)
    result = runner.invoke(app, ["users", "reset-password", "ash"], input="n" * 14 + "\n")
    assert result.exit_code == 0, result.stderr
    assert sign_in(sqlite_rt, "ash", "v" * 14).outcome is SignIn.REFUSED
    after = sign_in(sqlite_rt, "ash", "n" * 14)
    assert after.outcome is SignIn.OK and after.generation > before.generation
    result = runner.invoke(app, ["users", "set-role", "ash", "read_only"])
    assert result.exit_code == 0, result.stderr
    again = sign_in(sqlite_rt, "ash", "n" * 14)
    assert again.role is WorkspaceRole.READ_ONLY and again.generation > after.generation
    bad = runner.invoke(app, ["users", "set-role", "ash", "admin"])
    assert bad.exit_code == 2 and "role: 'admin' is not a role" in bad.stderr
    with sqlite_rt.sessions() as session:
        actions = set(session.scalars(select(AuditEvent.action)))
    assert {"workspace_password_reset", "workspace_role_changed"} <= actions
