"""The audit log over HTTP: what is recorded, with which request context, no
secrets, cursor pagination, filters, and who may read it."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.e2e.conftest import Mailbox
from tests.e2e.helpers import assert_problem
from tests.e2e.tenancy_helpers import (
    ACCEPT,
    API,
    API_KEYS,
    AUDIT_LOG,
    PASSWORD,
    WORKSPACES,
    accept,
    actions,
    audit_entries,
    audit_page,
    audit_rows,
    build_team,
    create_key,
    create_workspace,
    invitation_token,
    invite,
    key_auth,
    my_audit_entries,
    only,
    personal_workspace,
    set_role,
    signup,
)

Client = AsyncTestClient[Litestar]
ENTRY_FIELDS = {
    "id",
    "occurred_at",
    "workspace_id",
    "actor_type",
    "actor_id",
    "action",
    "target_type",
    "target_id",
    "client_address",
    "user_agent",
    "request_id",
    "metadata",
}


async def rename(client: Client, auth: dict[str, str], workspace: str, name: str) -> Any:
    response = await client.patch(f"{WORKSPACES}/{workspace}", json={"name": name}, headers=auth)
    assert response.status_code == 200, response.text
    return response


# --- account events ------------------------------------------------------------


async def test_a_successful_login_is_in_my_account_log(client: Client, mailbox: Mailbox) -> None:
    ada = await signup(client, mailbox, "ada@example.com")

    entry = only(await my_audit_entries(client, ada), "auth.login_succeeded")

    assert entry["actor_type"] == "user"
    assert entry["actor_id"] == ada.id
    assert entry["target_type"] == "session"


async def test_a_failed_login_is_in_my_account_log(client: Client, mailbox: Mailbox) -> None:
    ada = await signup(client, mailbox, "ada@example.com")

    failed = await client.post(
        f"{API}/auth/login", json={"email": ada.email, "password": "wrong password here"}
    )

    assert failed.status_code == 401, failed.text
    entry = only(await my_audit_entries(client, ada), "auth.login_failed")
    assert entry["actor_type"] == "anonymous"
    assert entry["target_id"] == ada.id


async def test_logout_is_in_my_account_log(client: Client, mailbox: Mailbox) -> None:
    ada = await signup(client, mailbox, "ada@example.com")
    second = await client.post(f"{API}/auth/login", json={"email": ada.email, "password": PASSWORD})

    response = await client.post(
        f"{API}/auth/logout", json={"refresh_token": second.json()["refresh_token"]}
    )

    assert response.status_code == 204, response.text
    entry = only(await my_audit_entries(client, ada), "auth.logout")
    assert entry["actor_id"] == ada.id


async def test_a_password_change_is_in_my_account_log(client: Client, mailbox: Mailbox) -> None:
    ada = await signup(client, mailbox, "ada@example.com")

    response = await client.post(
        f"{API}/auth/change-password",
        json={"current_password": PASSWORD, "new_password": "an entirely new passphrase 7"},
        headers=ada.auth,
    )

    assert response.status_code == 204, response.text
    entry = only(await my_audit_entries(client, ada), "auth.password_changed")
    assert entry["actor_id"] == ada.id


async def test_a_password_reset_is_in_my_account_log(client: Client, mailbox: Mailbox) -> None:
    ada = await signup(client, mailbox, "ada@example.com")
    await client.post(f"{API}/auth/forgot-password", json={"email": ada.email})
    token = await mailbox.token(ada.email, "reset")

    response = await client.post(
        f"{API}/auth/reset-password",
        json={"token": token, "new_password": "an entirely new passphrase 7"},
    )

    assert response.status_code == 204, response.text
    login = await client.post(
        f"{API}/auth/login",
        json={"email": ada.email, "password": "an entirely new passphrase 7"},
    )
    fresh = {"Authorization": f"Bearer {login.json()['access_token']}"}
    listed = await client.get(f"{API}/auth/audit-log", headers=fresh)
    assert "auth.password_reset" in actions(listed.json()["items"])


async def test_refresh_token_reuse_is_in_my_account_log(client: Client, mailbox: Mailbox) -> None:
    ada = await signup(client, mailbox, "ada@example.com")
    rotated = await client.post(f"{API}/auth/refresh", json={"refresh_token": ada.refresh_token})
    assert rotated.status_code == 200, rotated.text

    reused = await client.post(f"{API}/auth/refresh", json={"refresh_token": ada.refresh_token})

    assert reused.status_code == 401, reused.text
    other = await client.post(f"{API}/auth/login", json={"email": ada.email, "password": PASSWORD})
    fresh = {"Authorization": f"Bearer {other.json()['access_token']}"}
    listed = await client.get(f"{API}/auth/audit-log", headers=fresh)
    assert "auth.refresh_token_reuse_detected" in actions(listed.json()["items"])


async def test_my_account_log_holds_only_my_events(client: Client, mailbox: Mailbox) -> None:
    ada = await signup(client, mailbox, "ada@example.com")
    bob = await signup(client, mailbox, "bob@example.com")
    await client.post(f"{API}/auth/login", json={"email": bob.email, "password": "nope nope"})

    mine = await my_audit_entries(client, ada)

    assert "auth.login_failed" not in actions(mine)
    assert all(e["actor_id"] in {ada.id, None} for e in mine), mine
    assert bob.id not in json.dumps(mine)


async def test_my_account_log_needs_a_signed_in_user(client: Client) -> None:
    response = await client.get(f"{API}/auth/audit-log")

    assert_problem(response, 401, "invalid_token")


# --- workspace events -----------------------------------------------------------


async def test_creating_a_workspace_is_audited(client: Client, mailbox: Mailbox) -> None:
    ada = await signup(client, mailbox, "ada@example.com")

    workspace = await create_workspace(client, ada, "Research")

    entry = only(await audit_entries(client, ada, workspace), "workspace.created")
    assert entry["workspace_id"] == workspace
    assert entry["actor_type"] == "user"
    assert entry["actor_id"] == ada.id
    assert entry["target_type"] == "workspace"
    assert entry["target_id"] == workspace


async def test_renaming_a_workspace_is_audited(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox, "admin")

    await rename(client, team.admin.auth, team.workspace, "Renamed")

    entry = only(await audit_entries(client, team.owner, team.workspace), "workspace.renamed")
    assert entry["actor_id"] == team.admin.id
    assert entry["metadata"] == {"from": "Team", "to": "Renamed"}


async def test_deleting_a_workspace_is_audited(
    client: Client, mailbox: Mailbox, engine: AsyncEngine
) -> None:
    team = await build_team(client, mailbox)

    await client.delete(f"{WORKSPACES}/{team.workspace}", headers=team.owner.auth)

    [entry] = [r for r in await audit_rows(engine) if r["action"] == "workspace.deleted"]
    assert str(entry["workspace_id"]) == team.workspace
    assert str(entry["actor_id"]) == team.owner.id


async def test_accepting_an_invitation_audits_the_acceptance_and_the_new_member(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox)
    bob = await signup(client, mailbox, "bob@example.com")
    token = await invitation_token(client, mailbox, team.owner, team.workspace, bob.email, "viewer")

    await accept(client, bob, token)

    entries = await audit_entries(client, team.owner, team.workspace)
    accepted = only(entries, "invitation.accepted")
    added = only(entries, "member.added")
    assert accepted["actor_id"] == bob.id
    assert accepted["target_type"] == "invitation"
    assert added["target_id"] == bob.id
    assert added["metadata"]["role"] == "viewer"


async def test_creating_an_invitation_is_audited(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox, "admin")

    created = await invite(client, mailbox, team.admin, team.workspace, "new@example.com")

    entries = await audit_entries(client, team.owner, team.workspace)
    [entry] = [e for e in entries if e["target_id"] == created.json()["id"]]
    assert entry["action"] == "invitation.created"
    assert entry["actor_id"] == team.admin.id
    assert entry["target_type"] == "invitation"
    assert entry["metadata"] == {"email": "new@example.com", "role": "member"}


async def test_revoking_an_invitation_is_audited(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox)
    created = await invite(client, mailbox, team.owner, team.workspace, "new@example.com")

    await client.delete(
        f"{WORKSPACES}/{team.workspace}/invitations/{created.json()['id']}",
        headers=team.owner.auth,
    )

    entry = only(await audit_entries(client, team.owner, team.workspace), "invitation.revoked")
    assert entry["target_id"] == created.json()["id"]


async def test_removing_a_member_is_audited(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox, "member")

    await client.delete(
        f"{WORKSPACES}/{team.workspace}/members/{team.member.id}", headers=team.owner.auth
    )

    entry = only(await audit_entries(client, team.owner, team.workspace), "member.removed")
    assert entry["actor_id"] == team.owner.id
    assert entry["target_id"] == team.member.id


async def test_leaving_a_workspace_is_audited_as_a_member_removal(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox, "member")

    await client.post(f"{WORKSPACES}/{team.workspace}/leave", headers=team.member.auth)

    entry = only(await audit_entries(client, team.owner, team.workspace), "member.removed")
    assert entry["actor_id"] == team.member.id
    assert entry["target_id"] == team.member.id


async def test_changing_a_role_is_audited(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox, "viewer")

    await set_role(client, team.owner, team.workspace, team.viewer.id, "member")

    entry = only(await audit_entries(client, team.owner, team.workspace), "member.role_changed")
    assert entry["target_id"] == team.viewer.id
    assert entry["metadata"] == {"from": "viewer", "to": "member"}


async def test_transferring_ownership_is_audited(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox, "admin")

    await client.post(
        f"{WORKSPACES}/{team.workspace}/transfer-ownership",
        json={"user_id": team.admin.id},
        headers=team.owner.auth,
    )

    entry = only(
        await audit_entries(client, team.admin, team.workspace),
        "workspace.ownership_transferred",
    )
    assert entry["actor_id"] == team.owner.id
    assert entry["target_id"] == team.admin.id


async def test_creating_an_api_key_is_audited(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox)

    key = await create_key(client, team.owner, team.workspace, name="deploy")

    entry = only(await audit_entries(client, team.owner, team.workspace), "api_key.created")
    assert entry["target_type"] == "api_key"
    assert entry["target_id"] == key["id"]
    assert entry["metadata"]["name"] == "deploy"


async def test_revoking_an_api_key_is_audited(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox)
    key = await create_key(client, team.owner, team.workspace)

    await client.delete(f"{API_KEYS}/{key['id']}", headers=team.owner.in_(team.workspace))

    entry = only(await audit_entries(client, team.owner, team.workspace), "api_key.revoked")
    assert entry["target_id"] == key["id"]
    assert entry["actor_id"] == team.owner.id


async def test_an_action_taken_with_an_api_key_is_attributed_to_the_key(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox)
    key = await create_key(client, team.owner, team.workspace)

    await rename(client, key_auth(key["secret"]), team.workspace, "By key")

    entry = only(await audit_entries(client, team.owner, team.workspace), "workspace.renamed")
    assert entry["actor_type"] == "api_key"
    assert entry["actor_id"] == key["id"]


# --- what an entry holds ----------------------------------------------------------


async def test_an_entry_carries_the_request_id_address_and_user_agent_of_its_request(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox)

    response = await rename(
        client,
        {**team.owner.auth, "X-Request-ID": "rename-req-42", "User-Agent": "audit-e2e/1.0"},
        team.workspace,
        "Traced",
    )

    assert response.headers["X-Request-ID"] == "rename-req-42"
    entry = only(await audit_entries(client, team.owner, team.workspace), "workspace.renamed")
    assert entry["request_id"] == "rename-req-42"
    assert entry["user_agent"] == "audit-e2e/1.0"
    assert entry["client_address"]


async def test_an_entry_carries_the_generated_request_id_when_none_was_sent(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox)

    response = await rename(client, team.owner.auth, team.workspace, "Traced")

    entry = only(await audit_entries(client, team.owner, team.workspace), "workspace.renamed")
    assert entry["request_id"]
    assert entry["request_id"] == response.headers["X-Request-ID"]


async def test_a_failed_login_entry_carries_its_request_id(
    client: Client, mailbox: Mailbox
) -> None:
    ada = await signup(client, mailbox, "ada@example.com")

    await client.post(
        f"{API}/auth/login",
        json={"email": ada.email, "password": "wrong password here"},
        headers={"X-Request-ID": "failed-login-7"},
    )

    entry = only(await my_audit_entries(client, ada), "auth.login_failed")
    assert entry["request_id"] == "failed-login-7"


async def test_every_entry_has_the_documented_fields(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox, "viewer")
    await create_key(client, team.owner, team.workspace)

    entries = await audit_entries(client, team.owner, team.workspace)

    assert len(entries) >= 5
    assert all(set(e) == ENTRY_FIELDS for e in entries), entries
    assert all(e["workspace_id"] == team.workspace for e in entries)
    assert all(isinstance(e["metadata"], dict) for e in entries)


async def test_audit_entries_hold_no_password_token_or_secret(
    client: Client, mailbox: Mailbox, engine: AsyncEngine
) -> None:
    team = await build_team(client, mailbox)
    bob = await signup(client, mailbox, "bob@example.com")
    wrong = "a wrong guess of a password"
    await client.post(f"{API}/auth/login", json={"email": bob.email, "password": wrong})
    new_password = "an entirely new passphrase 7"
    await client.post(
        f"{API}/auth/change-password",
        json={"current_password": PASSWORD, "new_password": new_password},
        headers=bob.auth,
    )
    token = await invitation_token(client, mailbox, team.owner, team.workspace, bob.email)
    bob_again = await client.post(
        f"{API}/auth/login", json={"email": bob.email, "password": new_password}
    )
    tokens = bob_again.json()
    accepted = await client.post(
        ACCEPT, json={"token": token}, headers={"Authorization": f"Bearer {tokens['access_token']}"}
    )
    assert accepted.status_code == 200, accepted.text
    key = await create_key(client, team.owner, team.workspace)
    await client.delete(f"{API_KEYS}/{key['id']}", headers=team.owner.in_(team.workspace))

    rows = await audit_rows(engine)
    dumped = json.dumps(rows, default=str)
    listed = json.dumps(await audit_entries(client, team.owner, team.workspace))

    assert len(rows) >= 10
    for secret in (
        PASSWORD,
        wrong,
        new_password,
        token,
        key["secret"],
        tokens["access_token"],
        tokens["refresh_token"],
        team.owner.token,
        team.owner.refresh_token,
    ):
        assert secret not in dumped
        assert secret not in listed
    keys = {k.lower() for row in rows for k in row["metadata"]}
    assert not {k for k in keys if any(w in k for w in ("password", "token", "secret"))}, keys


# --- reading the log ---------------------------------------------------------------


async def test_pages_do_not_overlap_and_cover_everything_newest_first(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox)
    for n in range(7):
        await rename(client, team.owner.auth, team.workspace, f"Name {n}")
    everything = (await audit_page(client, team.owner, team.workspace, limit=200))["items"]

    paged: list[dict[str, Any]] = []
    pages = 0
    cursor = None
    while True:
        page = await audit_page(
            client, team.owner, team.workspace, limit=3, **({"cursor": cursor} if cursor else {})
        )
        assert len(page["items"]) <= 3
        paged.extend(page["items"])
        pages += 1
        cursor = page["next_cursor"]
        if cursor is None:
            break

    ids = [e["id"] for e in paged]
    assert len(ids) == len(set(ids))
    assert ids == [e["id"] for e in everything]
    assert len(everything) >= 8
    assert pages == -(-len(everything) // 3)
    times = [datetime.fromisoformat(e["occurred_at"]) for e in paged]
    assert times == sorted(times, reverse=True)
    assert paged[0]["action"] == "workspace.renamed"
    assert paged[0]["metadata"]["to"] == "Name 6"


async def test_the_log_filters_by_action(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox, "admin")
    await rename(client, team.owner.auth, team.workspace, "One")
    await rename(client, team.owner.auth, team.workspace, "Two")

    entries = await audit_entries(client, team.owner, team.workspace, action="workspace.renamed")

    assert actions(entries) == ["workspace.renamed", "workspace.renamed"]


async def test_the_log_filters_by_actor(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox, "admin")
    await rename(client, team.owner.auth, team.workspace, "By owner")
    await rename(client, team.admin.auth, team.workspace, "By admin")

    entries = await audit_entries(client, team.owner, team.workspace, actor=team.admin.id)

    assert entries
    assert {e["actor_id"] for e in entries} == {team.admin.id}
    assert "By admin" in json.dumps(entries)
    assert "By owner" not in [e["metadata"].get("to") for e in entries]


async def test_the_log_filters_by_time_range(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox)
    for n in range(3):
        await rename(client, team.owner.auth, team.workspace, f"Name {n}")
    renames = await audit_entries(client, team.owner, team.workspace, action="workspace.renamed")
    middle = renames[1]["occurred_at"]  # newest first: Name 2, Name 1, Name 0

    since = await audit_entries(
        client, team.owner, team.workspace, action="workspace.renamed", **{"from": middle}
    )
    until = await audit_entries(
        client, team.owner, team.workspace, action="workspace.renamed", to=middle
    )

    assert [e["metadata"]["to"] for e in since] == ["Name 2", "Name 1"]
    assert [e["metadata"]["to"] for e in until] == ["Name 0"]


async def test_an_invalid_cursor_is_refused_with_422(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox)

    response = await client.get(
        AUDIT_LOG, params={"cursor": "!!not-a-cursor!!"}, headers=team.owner.in_(team.workspace)
    )

    assert response.status_code == 422, response.text


async def test_an_admin_can_read_the_workspace_log(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox, "admin")

    response = await client.get(AUDIT_LOG, headers=team.admin.in_(team.workspace))

    assert response.status_code == 200, response.text
    assert "workspace.created" in actions(response.json()["items"])


async def test_members_below_admin_cannot_read_the_workspace_log(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox, "member", "viewer")

    as_member = await client.get(AUDIT_LOG, headers=team.member.in_(team.workspace))
    as_viewer = await client.get(AUDIT_LOG, headers=team.viewer.in_(team.workspace))

    assert_problem(as_member, 403, "insufficient_role")
    assert_problem(as_viewer, 403, "insufficient_role")


async def test_the_log_shows_only_the_current_workspace(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox)
    personal = await personal_workspace(client, team.owner)
    await rename(client, team.owner.auth, team.workspace, "Only here")

    in_personal = await audit_entries(client, team.owner, personal)
    in_team = await audit_entries(client, team.owner, team.workspace)

    assert {e["workspace_id"] for e in in_personal} == {personal}
    assert {e["workspace_id"] for e in in_team} == {team.workspace}
    assert "workspace.renamed" not in actions(in_personal)


async def test_without_x_workspace_id_the_log_is_the_personal_workspace_s(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox)
    personal = await personal_workspace(client, team.owner)

    response = await client.get(AUDIT_LOG, headers=team.owner.auth)

    assert response.status_code == 200, response.text
    assert {e["workspace_id"] for e in response.json()["items"]} == {personal}
