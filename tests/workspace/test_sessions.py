"""Sessions that end: sign-out, disabling, a new password or a new role ends every cookie
issued before it; unknown and known usernames lock out alike; unsafe requests from another
origin are refused beside the CSRF check."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from models.orm import WorkspaceRole
from services.accounts import disable_user, reset_password, set_role
from tests.workspace.conftest import PASSWORD, Workspace, csrf_of
from workspace.app import COOKIE

NEW_PASSWORD = "a new and long passphrase"


def _stolen_cookie(workspace: Workspace, username: str) -> tuple[httpx.Client, str]:
    """A signed-in client and a copy of its cookie, as a thief would hold it."""
    client = workspace.client()
    token = csrf_of(client.get("/login").text)
    response = client.post(
        "/login", data={"username": username, "password": PASSWORD, "csrf_token": token}
    )
    assert response.status_code == 303
    cookie = client.cookies.get(COOKIE)
    assert cookie is not None
    return client, cookie


def _with_cookie(workspace: Workspace, client: httpx.Client, cookie: str) -> int:
    with httpx.Client(base_url=workspace.server.url, timeout=30) as other:
        other.cookies.set(COOKIE, cookie)
        return other.get("/reviews").status_code


def test_sign_out_ends_the_session_and_every_copy_of_its_cookie(workspace: Workspace) -> None:
    client, cookie = _stolen_cookie(workspace, "bm")
    assert _with_cookie(workspace, client, cookie) == 200
    page = client.get("/reviews").text
    assert client.post("/logout", data={"csrf_token": csrf_of(page)}).status_code == 303
    assert _with_cookie(workspace, client, cookie) == 303  # to the sign-in page
    client.close()
    with workspace.signed_in("bm") as again:  # signing in again works
        assert again.get("/reviews").status_code == 200


@pytest.mark.parametrize(
    "change",
    [
        lambda rt: disable_user(rt, "chair"),
        lambda rt: reset_password(rt, "chair", NEW_PASSWORD, "business manager"),
        lambda rt: set_role(rt, "chair", WorkspaceRole.READ_ONLY, "business manager"),
    ],
    ids=["disabled", "password reset", "role change"],
)
def test_an_account_change_ends_the_sessions_issued_before_it(
    workspace: Workspace, change: Callable[..., None]
) -> None:
    client, cookie = _stolen_cookie(workspace, "chair")
    assert _with_cookie(workspace, client, cookie) == 200
    change(workspace.rt)
    assert _with_cookie(workspace, client, cookie) == 303
    client.close()


def _attempts(workspace: Workspace, username: str, password: str, times: int) -> list[int]:
    with workspace.client() as client:
        statuses = []
        for _ in range(times):
            token = csrf_of(client.get("/login").text)
            statuses.append(
                client.post(
                    "/login",
                    data={"username": username, "password": password, "csrf_token": token},
                ).status_code
            )
        return statuses


def test_unknown_and_known_usernames_lock_out_alike(workspace: Workspace) -> None:
    known = _attempts(workspace, "member", "wrong", 6)
    unknown = _attempts(workspace, "no-such-person", "wrong", 6)
    assert known == unknown == [401, 401, 401, 401, 423, 423]


def test_an_unsafe_request_from_another_origin_is_refused(workspace: Workspace) -> None:
    with workspace.signed_in("chair") as client:
        page = client.get(f"/reviews/{workspace.reference}").text
        token = csrf_of(page)
        url = f"/reviews/{workspace.reference}/reveal"
        for header in ({"Origin": "http://evil.example"}, {"Referer": "http://evil.example/x"}):
            refused = client.post(url, data={"csrf_token": token}, headers=header)
            assert refused.status_code == 403, header
        own = client.post(url, data={"csrf_token": token}, headers={"Origin": workspace.server.url})
        assert own.status_code == 200
