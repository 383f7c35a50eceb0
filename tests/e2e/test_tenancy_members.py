"""Members over HTTP: listing, role changes, removal, leaving and ownership
transfer, with the invariants (one owner, no role above one's own, the owner
protected)."""

from __future__ import annotations

import asyncio
import uuid

from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from entrypoints.config import Settings
from tests.e2e.conftest import Mailbox
from tests.e2e.helpers import assert_problem, racing_client
from tests.e2e.tenancy_helpers import (
    WORKSPACES,
    assert_same_404,
    build_team,
    join,
    members,
    my_workspaces,
    personal_workspace,
    set_role,
    signup,
)

Client = AsyncTestClient[Litestar]


async def owners_of(engine: AsyncEngine, workspace: str) -> list[str]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            text("SELECT user_id FROM memberships WHERE workspace_id = :w AND role = 'owner'"),
            {"w": uuid.UUID(workspace)},
        )
        return [str(r[0]) for r in rows]


async def test_the_member_list_shows_everyone_with_their_role(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox, "admin", "viewer")

    response = await client.get(f"{WORKSPACES}/{team.workspace}/members", headers=team.viewer.auth)

    assert response.status_code == 200, response.text
    listed = {m["email"]: m["role"] for m in response.json()}
    assert listed == {
        "owner@example.com": "owner",
        "admin@example.com": "admin",
        "viewer@example.com": "viewer",
    }
    assert {"user_id", "email", "name", "role", "joined_at"} <= set(response.json()[0])


async def test_an_admin_changes_a_member_s_role(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox, "admin", "viewer")

    response = await set_role(client, team.admin, team.workspace, team.viewer.id, "member")

    assert response.status_code == 200, response.text
    assert response.json()["role"] == "member"
    assert (await members(client, team.owner, team.workspace))[team.viewer.id] == "member"


async def test_an_admin_can_grant_their_own_role(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox, "admin", "member")

    response = await set_role(client, team.admin, team.workspace, team.member.id, "admin")

    assert response.status_code == 200, response.text
    assert (await members(client, team.owner, team.workspace))[team.member.id] == "admin"


async def test_an_admin_cannot_grant_the_owner_role_above_their_own(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox, "admin", "member")

    response = await set_role(client, team.admin, team.workspace, team.member.id, "owner")

    assert_problem(response, 403, "role_above_your_own")
    assert (await members(client, team.owner, team.workspace))[team.member.id] == "member"


async def test_the_owner_cannot_hand_out_ownership_through_a_role_change(
    client: Client, mailbox: Mailbox, engine: AsyncEngine
) -> None:
    team = await build_team(client, mailbox, "admin")

    response = await set_role(client, team.owner, team.workspace, team.admin.id, "owner")

    assert response.status_code in {403, 409, 422}, response.text
    assert await owners_of(engine, team.workspace) == [team.owner.id]


async def test_an_admin_cannot_change_the_owner_s_role(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox, "admin")

    response = await set_role(client, team.admin, team.workspace, team.owner.id, "viewer")

    assert_problem(response, 403, "owner_protected")
    assert (await members(client, team.owner, team.workspace))[team.owner.id] == "owner"


async def test_an_admin_cannot_remove_the_owner(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox, "admin")

    response = await client.delete(
        f"{WORKSPACES}/{team.workspace}/members/{team.owner.id}", headers=team.admin.auth
    )

    assert_problem(response, 403, "owner_protected")
    assert team.owner.id in await members(client, team.owner, team.workspace)


async def test_a_member_cannot_change_roles(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox, "member", "viewer")

    response = await set_role(client, team.member, team.workspace, team.viewer.id, "member")

    assert_problem(response, 403, "insufficient_role")
    assert (await members(client, team.owner, team.workspace))[team.viewer.id] == "viewer"


async def test_a_viewer_cannot_promote_themself(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox, "viewer")

    response = await set_role(client, team.viewer, team.workspace, team.viewer.id, "admin")

    assert_problem(response, 403, "insufficient_role")
    assert (await members(client, team.owner, team.workspace))[team.viewer.id] == "viewer"


async def test_an_unknown_role_is_refused_with_422(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox, "viewer")

    response = await set_role(client, team.owner, team.workspace, team.viewer.id, "superuser")

    assert_problem(response, 422, "invalid_role")
    assert (await members(client, team.owner, team.workspace))[team.viewer.id] == "viewer"


async def test_changing_the_role_of_a_non_member_answers_like_a_random_user(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox)
    stranger = await signup(client, mailbox, "stranger@example.com")

    foreign = await set_role(client, team.owner, team.workspace, stranger.id, "viewer")
    unknown = await set_role(client, team.owner, team.workspace, str(uuid.uuid4()), "viewer")

    assert_same_404(foreign, unknown)
    assert team.workspace not in {w["id"] for w in await my_workspaces(client, stranger)}


async def test_an_admin_removes_a_member_who_then_loses_access(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox, "admin", "member")

    response = await client.delete(
        f"{WORKSPACES}/{team.workspace}/members/{team.member.id}", headers=team.admin.auth
    )

    assert response.status_code == 204, response.text
    assert team.member.id not in await members(client, team.owner, team.workspace)
    after = await client.get(f"{WORKSPACES}/{team.workspace}", headers=team.member.auth)
    assert_problem(after, 404, "workspace_not_found")


async def test_a_member_cannot_remove_anyone(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox, "member", "viewer")

    response = await client.delete(
        f"{WORKSPACES}/{team.workspace}/members/{team.viewer.id}", headers=team.member.auth
    )

    assert_problem(response, 403, "insufficient_role")
    assert team.viewer.id in await members(client, team.owner, team.workspace)


async def test_a_member_leaves_a_workspace(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox, "member")

    response = await client.post(f"{WORKSPACES}/{team.workspace}/leave", headers=team.member.auth)

    assert response.status_code == 204, response.text
    assert team.workspace not in {w["id"] for w in await my_workspaces(client, team.member)}
    assert team.member.id not in await members(client, team.owner, team.workspace)


async def test_the_owner_cannot_leave(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox, "admin")

    response = await client.post(f"{WORKSPACES}/{team.workspace}/leave", headers=team.owner.auth)

    assert_problem(response, 409, "owner_cannot_leave")
    assert (await members(client, team.admin, team.workspace))[team.owner.id] == "owner"


async def test_the_owner_cannot_leave_their_personal_workspace(
    client: Client, mailbox: Mailbox
) -> None:
    ada = await signup(client, mailbox, "ada@example.com")
    personal = await personal_workspace(client, ada)

    response = await client.post(f"{WORKSPACES}/{personal}/leave", headers=ada.auth)

    assert response.status_code == 409, response.text
    assert await personal_workspace(client, ada) == personal


async def test_transferring_ownership_makes_the_old_owner_admin(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox, "member")

    response = await client.post(
        f"{WORKSPACES}/{team.workspace}/transfer-ownership",
        json={"user_id": team.member.id},
        headers=team.owner.auth,
    )

    assert response.status_code == 204, response.text
    roles = await members(client, team.member, team.workspace)
    assert roles == {team.member.id: "owner", team.owner.id: "admin"}


async def test_after_a_transfer_the_workspace_still_has_exactly_one_owner(
    client: Client, mailbox: Mailbox, engine: AsyncEngine
) -> None:
    team = await build_team(client, mailbox, "admin", "member")

    await client.post(
        f"{WORKSPACES}/{team.workspace}/transfer-ownership",
        json={"user_id": team.admin.id},
        headers=team.owner.auth,
    )

    assert await owners_of(engine, team.workspace) == [team.admin.id]


async def test_the_new_owner_holds_the_owner_s_powers_and_the_old_one_does_not(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox, "member")
    await client.post(
        f"{WORKSPACES}/{team.workspace}/transfer-ownership",
        json={"user_id": team.member.id},
        headers=team.owner.auth,
    )

    old_owner = await client.delete(f"{WORKSPACES}/{team.workspace}", headers=team.owner.auth)
    new_owner = await client.delete(f"{WORKSPACES}/{team.workspace}", headers=team.member.auth)

    assert_problem(old_owner, 403, "insufficient_role")
    assert new_owner.status_code == 204, new_owner.text


async def test_ownership_cannot_be_transferred_to_a_non_member(
    client: Client, mailbox: Mailbox, engine: AsyncEngine
) -> None:
    team = await build_team(client, mailbox)
    stranger = await signup(client, mailbox, "stranger@example.com")

    response = await client.post(
        f"{WORKSPACES}/{team.workspace}/transfer-ownership",
        json={"user_id": stranger.id},
        headers=team.owner.auth,
    )

    assert response.status_code == 404, response.text
    assert await owners_of(engine, team.workspace) == [team.owner.id]


async def test_an_admin_cannot_transfer_ownership(
    client: Client, mailbox: Mailbox, engine: AsyncEngine
) -> None:
    team = await build_team(client, mailbox, "admin")

    response = await client.post(
        f"{WORKSPACES}/{team.workspace}/transfer-ownership",
        json={"user_id": team.admin.id},
        headers=team.admin.auth,
    )

    assert_problem(response, 403, "insufficient_role")
    assert await owners_of(engine, team.workspace) == [team.owner.id]


async def test_a_personal_workspace_cannot_change_owner(
    client: Client, mailbox: Mailbox, engine: AsyncEngine
) -> None:
    ada = await signup(client, mailbox, "ada@example.com")
    bob = await signup(client, mailbox, "bob@example.com")
    personal = await personal_workspace(client, ada)
    await join(client, mailbox, ada, personal, bob, "admin")

    response = await client.post(
        f"{WORKSPACES}/{personal}/transfer-ownership",
        json={"user_id": bob.id},
        headers=ada.auth,
    )

    assert_problem(response, 409, "personal_workspace")
    assert await owners_of(engine, personal) == [ada.id]


async def test_concurrent_transfers_leave_exactly_one_owner(
    client: Client, mailbox: Mailbox, engine: AsyncEngine, settings: Settings
) -> None:
    team = await build_team(client, mailbox, "admin", "member")
    url = f"{WORKSPACES}/{team.workspace}/transfer-ownership"

    async with racing_client(settings) as racing:
        responses = await asyncio.gather(
            *(
                racing.post(url, json={"user_id": target.id}, headers=team.owner.auth)
                for target in (team.admin, team.member)
            )
        )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [204, 403], [r.text for r in responses]
    owners = await owners_of(engine, team.workspace)
    assert len(owners) == 1
    assert owners[0] in {team.admin.id, team.member.id}
