"""Invitations over HTTP: mailed through the outbox, listed while pending,
revocable, accepted once, and only by the verified invited address."""

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
    ACCEPT,
    WORKSPACES,
    accept,
    assert_same_404,
    build_team,
    create_workspace,
    invitation_token,
    invite,
    members,
    my_workspaces,
    signup,
)

Client = AsyncTestClient[Litestar]


async def pending(client: Client, team_owner_auth: dict[str, str], workspace: str) -> list[str]:
    response = await client.get(f"{WORKSPACES}/{workspace}/invitations", headers=team_owner_auth)
    assert response.status_code == 200, response.text
    return [i["email"] for i in response.json()]


async def test_an_admin_invites_by_email_and_gets_201(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox, "admin")

    response = await invite(
        client, mailbox, team.admin, team.workspace, "new@example.com", "viewer"
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["email"] == "new@example.com"
    assert body["role"] == "viewer"
    assert body["workspace_id"] == team.workspace
    assert body["invited_by"] == team.admin.id
    assert body["expires_at"] > body["created_at"]
    assert "token" not in body


async def test_the_invitation_is_mailed_with_the_workspace_name(
    client: Client, mailbox: Mailbox
) -> None:
    owner = await signup(client, mailbox, "owner@example.com")
    workspace = await create_workspace(client, owner, "Moon Base")

    await invite(client, mailbox, owner, workspace, "new@example.com")

    message = await mailbox.wait_for("new@example.com", "invited")
    assert "You are invited to Moon Base" in str(message["Subject"])


async def test_pending_invitations_are_listed(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox)
    await invite(client, mailbox, team.owner, team.workspace, "a@example.com")
    await invite(client, mailbox, team.owner, team.workspace, "b@example.com", "admin")

    response = await client.get(
        f"{WORKSPACES}/{team.workspace}/invitations", headers=team.owner.auth
    )

    assert response.status_code == 200, response.text
    assert {(i["email"], i["role"]) for i in response.json()} == {
        ("a@example.com", "member"),
        ("b@example.com", "admin"),
    }


async def test_accepting_joins_the_workspace_with_the_invited_role(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox)
    bob = await signup(client, mailbox, "bob@example.com")
    token = await invitation_token(client, mailbox, team.owner, team.workspace, bob.email, "viewer")

    response = await accept(client, bob, token)

    assert response.status_code == 200, response.text
    body = response.json()
    assert body["workspace_id"] == team.workspace
    assert body["workspace_name"] == "Team"
    assert body["user_id"] == bob.id
    assert body["role"] == "viewer"
    assert body["joined_at"]
    assert (await members(client, team.owner, team.workspace))[bob.id] == "viewer"
    roles = {w["id"]: w["role"] for w in await my_workspaces(client, bob)}
    assert roles[team.workspace] == "viewer"


async def test_an_accepted_invitation_is_no_longer_pending(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox)
    bob = await signup(client, mailbox, "bob@example.com")
    token = await invitation_token(client, mailbox, team.owner, team.workspace, bob.email)

    await accept(client, bob, token)

    assert await pending(client, team.owner.auth, team.workspace) == []


async def test_an_invitation_token_works_only_once(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox)
    bob = await signup(client, mailbox, "bob@example.com")
    token = await invitation_token(client, mailbox, team.owner, team.workspace, bob.email)
    assert (await accept(client, bob, token)).status_code == 200
    await client.post(f"{WORKSPACES}/{team.workspace}/leave", headers=bob.auth)

    again = await accept(client, bob, token)

    assert_problem(again, 400, "invalid_token")
    assert bob.id not in await members(client, team.owner, team.workspace)


async def test_a_revoked_invitation_disappears_and_its_token_no_longer_works(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox)
    bob = await signup(client, mailbox, "bob@example.com")
    token = await invitation_token(client, mailbox, team.owner, team.workspace, bob.email)
    [invitation] = (
        await client.get(f"{WORKSPACES}/{team.workspace}/invitations", headers=team.owner.auth)
    ).json()

    revoked = await client.delete(
        f"{WORKSPACES}/{team.workspace}/invitations/{invitation['id']}", headers=team.owner.auth
    )

    assert revoked.status_code == 204, revoked.text
    assert await pending(client, team.owner.auth, team.workspace) == []
    assert_problem(await accept(client, bob, token), 400, "invalid_token")
    assert bob.id not in await members(client, team.owner, team.workspace)


async def test_revoking_another_workspace_s_invitation_answers_like_a_random_id(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox)
    other = await signup(client, mailbox, "other@example.com")
    theirs = await create_workspace(client, other, "Theirs")
    created = await invite(client, mailbox, other, theirs, "bob@example.com")
    their_invitation = created.json()["id"]

    foreign = await client.delete(
        f"{WORKSPACES}/{team.workspace}/invitations/{their_invitation}", headers=team.owner.auth
    )
    unknown = await client.delete(
        f"{WORKSPACES}/{team.workspace}/invitations/{uuid.uuid4()}", headers=team.owner.auth
    )

    assert_same_404(foreign, unknown)
    assert await pending(client, other.auth, theirs) == ["bob@example.com"]


async def test_only_the_invited_address_can_accept(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox)
    await signup(client, mailbox, "bob@example.com")
    eve = await signup(client, mailbox, "eve@example.com")
    token = await invitation_token(client, mailbox, team.owner, team.workspace, "bob@example.com")

    response = await accept(client, eve, token)

    assert_problem(response, 403, "invitation_email_mismatch")
    assert eve.id not in await members(client, team.owner, team.workspace)


async def test_an_unverified_invitee_cannot_accept(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox)
    bob = await signup(client, mailbox, "bob@example.com", verified=False)
    token = await invitation_token(client, mailbox, team.owner, team.workspace, bob.email)

    response = await accept(client, bob, token)

    assert_problem(response, 403, "email_not_verified")
    assert bob.id not in await members(client, team.owner, team.workspace)


async def test_a_mismatched_accept_does_not_spend_the_token(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox)
    bob = await signup(client, mailbox, "bob@example.com")
    eve = await signup(client, mailbox, "eve@example.com")
    token = await invitation_token(client, mailbox, team.owner, team.workspace, bob.email)
    assert (await accept(client, eve, token)).status_code == 403

    response = await accept(client, bob, token)

    assert response.status_code == 200, response.text


async def test_accepting_needs_a_signed_in_user(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox)
    token = await invitation_token(client, mailbox, team.owner, team.workspace, "bob@example.com")

    response = await client.post(ACCEPT, json={"token": token})

    assert_problem(response, 401, "invalid_token")


async def test_an_unknown_invitation_token_is_refused(client: Client, mailbox: Mailbox) -> None:
    bob = await signup(client, mailbox, "bob@example.com")

    response = await accept(client, bob, "not-a-real-token")

    assert_problem(response, 400, "invalid_token")


async def test_inviting_an_existing_member_is_a_conflict(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox, "member")

    response = await invite(client, mailbox, team.owner, team.workspace, team.member.email)

    assert_problem(response, 409, "already_member")
    assert await pending(client, team.owner.auth, team.workspace) == []


async def test_a_member_cannot_invite(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox, "member")

    response = await invite(client, mailbox, team.member, team.workspace, "new@example.com")

    assert_problem(response, 403, "insufficient_role")
    assert await pending(client, team.owner.auth, team.workspace) == []


async def test_a_member_cannot_list_invitations(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox, "member")

    response = await client.get(
        f"{WORKSPACES}/{team.workspace}/invitations", headers=team.member.auth
    )

    assert_problem(response, 403, "insufficient_role")


async def test_an_admin_cannot_invite_above_their_own_role(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox, "admin")

    response = await invite(client, mailbox, team.admin, team.workspace, "new@example.com", "owner")

    assert_problem(response, 403, "role_above_your_own")
    assert await pending(client, team.owner.auth, team.workspace) == []


async def test_an_invitation_with_an_unknown_role_is_refused_with_422(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox)

    response = await invite(client, mailbox, team.owner, team.workspace, "new@example.com", "god")

    assert_problem(response, 422, "invalid_role")
    assert await pending(client, team.owner.auth, team.workspace) == []


async def test_an_invitation_to_a_malformed_address_is_refused_with_422(
    client: Client, mailbox: Mailbox
) -> None:
    team = await build_team(client, mailbox)

    response = await invite(client, mailbox, team.owner, team.workspace, "not an address")

    assert response.status_code == 422, response.text
    assert await pending(client, team.owner.auth, team.workspace) == []


async def test_concurrent_accepts_of_one_token_let_exactly_one_through(
    client: Client, mailbox: Mailbox, settings: Settings
) -> None:
    team = await build_team(client, mailbox)
    bob = await signup(client, mailbox, "bob@example.com")
    token = await invitation_token(client, mailbox, team.owner, team.workspace, bob.email)

    async with racing_client(settings) as racing:
        responses = await asyncio.gather(
            *(racing.post(ACCEPT, json={"token": token}, headers=bob.auth) for _ in range(5))
        )

    statuses = sorted(r.status_code for r in responses)
    assert statuses == [200, 400, 400, 400, 400], [r.text for r in responses]
    assert (await members(client, team.owner, team.workspace))[bob.id] == "member"


async def test_an_expired_invitation_is_not_pending_and_its_token_no_longer_works(
    client: Client, mailbox: Mailbox, engine: AsyncEngine
) -> None:
    team = await build_team(client, mailbox)
    bob = await signup(client, mailbox, "bob@example.com")
    token = await invitation_token(client, mailbox, team.owner, team.workspace, bob.email)
    async with engine.begin() as conn:  # the clock cannot be wound on seven days
        await conn.execute(text("UPDATE invitations SET expires_at = now() - interval '1 second'"))

    response = await accept(client, bob, token)

    assert_problem(response, 400, "invalid_token")
    assert await pending(client, team.owner.auth, team.workspace) == []
    assert bob.id not in await members(client, team.owner, team.workspace)


async def test_the_invited_address_matches_in_any_case(client: Client, mailbox: Mailbox) -> None:
    team = await build_team(client, mailbox)
    bob = await signup(client, mailbox, "bob@example.com")
    created = await client.post(
        f"{WORKSPACES}/{team.workspace}/invitations",
        json={"email": "Bob@Example.COM", "role": "member"},
        headers=team.owner.auth,
    )
    assert created.status_code == 201, created.text
    token = await mailbox.token("bob@example.com", "invited")  # also: the worker is done

    response = await accept(client, bob, token)

    assert response.status_code == 200, response.text
