from __future__ import annotations

import pytest

from application.commands.identity.register_user import RegisterUser
from domain.audit.entry import ActorType, AuditAction
from domain.identity.errors import EmailTaken, InvalidEmail, InvalidName, WeakPassword
from domain.identity.events import EmailVerificationRequested, UserRegistered
from domain.identity.ids import UserId
from domain.identity.user import NAME_MAX_LENGTH as USER_NAME_MAX_LENGTH
from domain.tenancy.events import WorkspaceCreated
from tests.unit.identity.world import PASSWORD, World


async def test_register_creates_an_unverified_user_and_returns_its_view(world: World) -> None:
    view = await world.execute(
        RegisterUser(email="ada@example.com", password=PASSWORD, name="Ada Lovelace")
    )
    assert view.email == "ada@example.com"
    assert view.name == "Ada Lovelace"
    assert view.email_verified is False
    assert view.created_at == world.clock.now()
    assert world.stored_user(view.id).email.value == "ada@example.com"


async def test_register_normalises_the_address_and_the_name(world: World) -> None:
    view = await world.execute(
        RegisterUser(email="  Ada@Example.COM ", password=PASSWORD, name="  Zoe\u0308 ")
    )
    assert view.email == "ada@example.com"
    assert view.name == "Zo\u00eb"


async def test_register_stores_a_hash_of_the_password_never_the_password(world: World) -> None:
    view = await world.register()
    stored = world.stored_user(view.id).password_hash
    assert PASSWORD not in stored
    assert await world.hasher.verify(stored, PASSWORD)


async def test_register_hashes_the_nfkc_form_of_the_password(world: World) -> None:
    view = await world.register(password="ｖｅｌｖｅｔｏｃｅａｎ４２")
    assert await world.hasher.verify(world.stored_user(view.id).password_hash, "velvetocean42")


async def test_register_publishes_user_registered_and_verification_requested(
    world: World,
) -> None:
    view = await world.register()
    user_id = UserId(view.id)
    assert world.uow.published[:2] == [
        UserRegistered(user_id=user_id),
        EmailVerificationRequested(user_id=user_id),
    ]
    assert world.uow.commits == 1


async def test_register_creates_a_personal_workspace_owned_by_the_user(world: World) -> None:
    view = await world.register(name="Ada Lovelace")
    [workspace] = world.tables.workspaces.values()
    assert workspace.personal is True
    assert workspace.owner == view.id
    assert workspace.name.value == "Ada Lovelace's workspace"
    assert WorkspaceCreated(workspace_id=workspace.id, owner_id=UserId(view.id)) in (
        world.uow.published
    )


async def test_register_with_the_longest_name_still_names_the_workspace(world: World) -> None:
    await world.register(name="N" * USER_NAME_MAX_LENGTH)
    [workspace] = world.tables.workspaces.values()
    assert workspace.name.value == "N" * USER_NAME_MAX_LENGTH + "'s workspace"


async def test_register_audits_the_workspace_creation(world: World) -> None:
    view = await world.register()
    [workspace] = world.tables.workspaces.values()
    [entry] = world.audit.entries
    assert entry.action is AuditAction.WORKSPACE_CREATED
    assert (entry.actor_type, entry.actor_id) == (ActorType.USER, view.id)
    assert (entry.subject_user, entry.workspace_id) == (view.id, workspace.id)


async def test_a_refused_registration_creates_no_workspace_and_no_audit_entry(
    world: World,
) -> None:
    await world.register("ada@example.com")
    with pytest.raises(EmailTaken):
        await world.register("ada@example.com", name="Impostor")
    assert len(world.tables.workspaces) == 1
    assert len(world.audit.entries) == 1


async def test_register_refuses_an_address_already_taken_in_any_case(world: World) -> None:
    await world.register("ada@example.com")
    world.uow.drain()
    with pytest.raises(EmailTaken):
        await world.register("ADA@Example.com", name="Impostor")
    assert len(world.tables.users) == 1
    assert world.uow.published == []


@pytest.mark.parametrize(
    ("command", "error", "field"),
    [
        (RegisterUser(email="not-an-email", password=PASSWORD, name="Ada"), InvalidEmail, "email"),
        (RegisterUser(email="ada@example.com", password=PASSWORD, name=" "), InvalidName, "name"),
        (
            RegisterUser(email="ada@example.com", password="short", name="Ada"),
            WeakPassword,
            "password",
        ),
        (
            RegisterUser(email="ada@example.com", password="password123", name="Ada"),
            WeakPassword,
            "password",
        ),
        (
            RegisterUser(email="ada.lovelace@example.com", password="ada.lovelace", name="Ada"),
            WeakPassword,
            "password",
        ),
        (
            RegisterUser(email="a@example.com", password="Ada Lovelace", name="Ada Lovelace"),
            WeakPassword,
            "password",
        ),
        (
            RegisterUser(email="ada@example.com", password="ada@example.com", name="Ada Lovelace"),
            WeakPassword,
            "password",
        ),
        (
            RegisterUser(
                email="fiona@example.com", password="ﬁnancial wizard", name="ﬁnancial wizard"
            ),
            WeakPassword,
            "password",
        ),
    ],
    ids=[
        "bad-email",
        "blank-name",
        "short",
        "common",
        "local-part",
        "name",
        "address",
        "name-typed-verbatim-with-a-ligature",
    ],
)
async def test_register_refuses_invalid_input_and_stores_nothing(
    world: World, command: RegisterUser, error: type[Exception], field: str
) -> None:
    with pytest.raises(error) as caught:
        await world.execute(command)
    assert getattr(caught.value, "field", None) == field
    assert world.tables.users == {}
    assert world.tables.workspaces == {}
    assert world.uow.commits == 0
