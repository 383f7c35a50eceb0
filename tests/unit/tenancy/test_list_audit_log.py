"""ListAuditLog: a workspace's log (admins) or one's own account history, newest
first, in keyset pages."""

from __future__ import annotations

from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from application.common.pagination import (
    MAX_PAGE_SIZE,
    InvalidCursor,
    Page,
    decode_cursor,
    encode_cursor,
)
from application.common.tenancy import WorkspaceActor
from application.ports.audit import AuditEntryView, AuditFilter
from application.queries.audit.list_audit_log import ListAuditLog
from domain.audit.entry import ActorType, AuditAction, AuditEvent
from domain.common.errors import InvalidInput
from domain.identity.ids import UserId
from domain.tenancy.errors import InsufficientRole
from domain.tenancy.ids import WorkspaceId
from domain.tenancy.roles import Permission, Role
from tests.unit.tenancy.world import World


async def entry(
    world: World,
    workspace: WorkspaceId | None,
    action: AuditAction = AuditAction.WORKSPACE_RENAMED,
    *,
    actor: UUID | None = None,
    subject: UserId | None = None,
) -> UUID:
    """One kept entry, a second after the previous one; returns its id."""
    world.clock.advance(seconds=1)
    await world.audit.record_now(
        AuditEvent(
            action=action,
            actor_type=ActorType.USER,
            actor_id=actor,
            workspace_id=workspace,
            subject_user=subject,
        )
    )
    [latest] = await world.audit.list(AuditFilter(), after=None, limit=1)
    return latest.id


async def page(world: World, query: ListAuditLog) -> Page[AuditEntryView]:
    result: Page[AuditEntryView] = await world.execute(query)
    return result


async def walk(world: World, actor: WorkspaceActor, size: int) -> list[list[UUID]]:
    pages: list[list[UUID]] = []
    cursor: str | None = None
    while True:
        result = await page(world, ListAuditLog(actor=actor, cursor=cursor, limit=size))
        pages.append([item.id for item in result.items])
        if result.next_cursor is None:
            return pages
        cursor = result.next_cursor


async def test_an_admin_reads_the_workspaces_log_newest_first(world: World) -> None:
    team = await world.team()
    first = await entry(world, team.workspace)
    second = await entry(world, team.workspace)
    result = await page(world, ListAuditLog(actor=await world.actor(team, Role.ADMIN)))
    assert [item.id for item in result.items] == [second, first]
    assert result.next_cursor is None


async def test_another_workspaces_entries_are_not_listed(world: World) -> None:
    team = await world.team()
    await entry(world, WorkspaceId(world.ids.new()))
    mine = await entry(world, team.workspace)
    result = await page(world, ListAuditLog(actor=await world.actor(team, Role.OWNER)))
    assert [item.id for item in result.items] == [mine]


async def test_a_member_cannot_read_the_workspaces_log(world: World) -> None:
    team = await world.team()
    with pytest.raises(InsufficientRole):
        await world.execute(ListAuditLog(actor=await world.actor(team, Role.MEMBER)))


async def test_a_key_needs_the_audit_read_scope(world: World) -> None:
    team = await world.team()
    _, secret = await world.api_key(
        await world.actor(team, Role.OWNER), scopes=[Permission.WORKSPACE_READ]
    )
    with pytest.raises(InsufficientRole):
        await world.execute(ListAuditLog(actor=await world.authenticate(secret)))


async def test_a_user_reads_the_entries_about_their_own_account(world: World) -> None:
    team = await world.team()
    about_mia = await entry(world, team.workspace, subject=team.member)
    await entry(world, team.workspace, subject=team.admin)
    elsewhere = await entry(world, None, AuditAction.LOGIN_SUCCEEDED, subject=team.member)
    result = await page(world, ListAuditLog(user_id=team.member))
    assert [item.id for item in result.items] == [elsewhere, about_mia]


async def test_without_a_workspace_or_a_user_nothing_is_read(world: World) -> None:
    with pytest.raises(ValueError, match="actor or a user"):
        await world.execute(ListAuditLog())


async def test_entries_are_filtered_by_action_and_actor(world: World) -> None:
    team = await world.team()
    await entry(world, team.workspace, AuditAction.MEMBER_ADDED, actor=team.owner)
    wanted = await entry(world, team.workspace, AuditAction.MEMBER_REMOVED, actor=team.owner)
    await entry(world, team.workspace, AuditAction.MEMBER_REMOVED, actor=team.admin)
    result = await page(
        world,
        ListAuditLog(
            actor=await world.actor(team, Role.ADMIN),
            action=AuditAction.MEMBER_REMOVED.value,
            actor_id=team.owner,
        ),
    )
    assert [item.id for item in result.items] == [wanted]


async def test_entries_are_filtered_by_time_since_inclusive_until_exclusive(world: World) -> None:
    team = await world.team()
    ids = [await entry(world, team.workspace) for _ in range(4)]  # a second apart
    times = {
        item.id: item.occurred_at
        for item in await world.audit.list(AuditFilter(), after=None, limit=10)
    }
    result = await page(
        world,
        ListAuditLog(
            actor=await world.actor(team, Role.ADMIN), since=times[ids[1]], until=times[ids[3]]
        ),
    )
    assert [item.id for item in result.items] == [ids[2], ids[1]]


async def test_the_next_cursor_continues_after_the_last_entry_shown(world: World) -> None:
    team = await world.team()
    ids = [await entry(world, team.workspace) for _ in range(5)]
    admin = await world.actor(team, Role.ADMIN)
    first = await page(world, ListAuditLog(actor=admin, limit=2))
    assert [item.id for item in first.items] == [ids[4], ids[3]]
    assert first.next_cursor == encode_cursor(ids[3])
    second = await page(world, ListAuditLog(actor=admin, limit=2, cursor=first.next_cursor))
    assert [item.id for item in second.items] == [ids[2], ids[1]]


async def test_a_last_page_that_is_exactly_full_has_no_next_cursor(world: World) -> None:
    team = await world.team()
    for _ in range(4):
        await entry(world, team.workspace)
    result = await page(world, ListAuditLog(actor=await world.actor(team, Role.ADMIN), limit=4))
    assert len(result.items) == 4
    assert result.next_cursor is None


async def test_a_page_holds_fifty_entries_by_default(world: World) -> None:
    team = await world.team()
    for _ in range(51):
        await entry(world, team.workspace)
    result = await page(world, ListAuditLog(actor=await world.actor(team, Role.ADMIN)))
    assert len(result.items) == 50
    assert result.next_cursor is not None


@pytest.mark.parametrize("limit", [0, -1, MAX_PAGE_SIZE + 1])
async def test_a_page_size_out_of_range_is_invalid(world: World, limit: int) -> None:
    team = await world.team()
    with pytest.raises(InvalidInput) as refused:
        await world.execute(ListAuditLog(actor=await world.actor(team, Role.ADMIN), limit=limit))
    assert refused.value.field == "limit"


@pytest.mark.parametrize("cursor", ["!!!", "abc", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "é" * 22])
async def test_an_invalid_cursor_is_refused(world: World, cursor: str) -> None:
    team = await world.team()
    with pytest.raises(InvalidCursor) as refused:
        await world.execute(ListAuditLog(actor=await world.actor(team, Role.ADMIN), cursor=cursor))
    assert refused.value.field == "cursor"


@given(count=st.integers(min_value=0, max_value=25), size=st.integers(min_value=1, max_value=12))
async def test_any_page_size_splits_the_log_into_pages_that_cover_it_once(
    count: int, size: int
) -> None:
    world = World()
    team = await world.team()
    ids = [await entry(world, team.workspace) for _ in range(count)]
    pages = await walk(world, await world.actor(team, Role.ADMIN), size)
    assert [item for p in pages for item in p] == list(reversed(ids))  # newest first, no gaps
    assert all(len(p) == size for p in pages[:-1])
    assert 0 < len(pages[-1]) <= size or count == 0
    assert len(pages) == max(1, -(-count // size))


@given(st.uuids())
def test_a_cursor_reads_back_as_the_id_it_was_made_from(entry_id: UUID) -> None:
    assert decode_cursor(encode_cursor(entry_id)) == entry_id


@given(st.text())
def test_any_text_is_a_cursor_or_an_invalid_cursor(text: str) -> None:
    try:
        decoded = decode_cursor(text)
    except InvalidCursor:
        return
    assert decoded is None or isinstance(decoded, UUID)
