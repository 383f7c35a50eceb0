from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, delete, func, insert, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.postgres.errors import translated
from adapters.postgres.statements import Statements, UnitOfWorkStatements
from adapters.postgres.tables import api_keys, invitations, memberships, users, workspaces
from adapters.postgres.unit_of_work import SqlUnitOfWork
from application.ports.tenancy import (
    ApiKeyLookup,
    ApiKeyRepository,
    InvitationRepository,
    MembershipLookup,
    WorkspaceRepository,
)
from application.ports.tenancy_reads import (
    ApiKeyReader,
    ApiKeyView,
    InvitationView,
    MemberView,
    WorkspaceReader,
    WorkspaceView,
)
from domain.identity.api_key import ApiKey, ApiKeyId
from domain.identity.email import Email
from domain.identity.ids import UserId
from domain.tenancy.ids import InvitationId, WorkspaceId
from domain.tenancy.invitation import Invitation
from domain.tenancy.roles import Permission, Role
from domain.tenancy.workspace import Membership, Workspace, WorkspaceName


class SqlWorkspaceRepository(UnitOfWorkStatements, WorkspaceRepository):
    def __init__(self, uow: SqlUnitOfWork) -> None:
        super().__init__(uow)
        # Member sets as last read or written, so a rename rewrites no membership.
        self._stored: dict[WorkspaceId, dict[UserId, Membership]] = {}

    async def add(self, workspace: Workspace) -> None:
        await self._execute(
            insert(workspaces).values(
                id=workspace.id,
                name=workspace.name.value,
                personal=workspace.personal,
                created_at=workspace.created_at,
                updated_at=workspace.updated_at,
            )
        )
        await self._write_members(workspace)
        self._uow.track(workspace)

    async def get(self, workspace_id: WorkspaceId) -> Workspace | None:
        row = (
            (
                await self._execute(
                    select(workspaces).where(workspaces.c.id == workspace_id).with_for_update()
                )
            )
            .mappings()
            .first()
        )
        return await self._hydrate(row) if row else None

    async def _hydrate(self, row: RowMapping) -> Workspace:
        members = await self._execute(
            select(memberships).where(memberships.c.workspace_id == row["id"])
        )
        workspace = Workspace(
            id=row["id"],
            name=WorkspaceName(row["name"]),
            personal=row["personal"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )
        for m in members.mappings():
            workspace.members[m["user_id"]] = Membership(
                user_id=m["user_id"], role=Role(m["role"]), joined_at=m["joined_at"]
            )
        self._stored[workspace.id] = dict(workspace.members)
        return workspace

    async def owned_by(self, user_id: UserId) -> list[Workspace]:
        rows = await self._execute(
            select(workspaces)
            .join(memberships, memberships.c.workspace_id == workspaces.c.id)
            .where(memberships.c.user_id == user_id, memberships.c.role == Role.OWNER.value)
            .with_for_update(of=workspaces)
        )
        return [await self._hydrate(row) for row in rows.mappings().all()]

    async def save(self, workspace: Workspace) -> None:
        self._uow.track(workspace)
        if workspace.deleted:
            await self._execute(delete(workspaces).where(workspaces.c.id == workspace.id))
            return
        await self._execute(
            update(workspaces)
            .where(workspaces.c.id == workspace.id)
            .values(name=workspace.name.value, updated_at=workspace.updated_at)
        )
        await self._write_members(workspace)

    async def _write_members(self, workspace: Workspace) -> None:
        # Replace the member set when it changed: small, and keeps the one-owner
        # index happy within a single statement order (delete first, then insert).
        if self._stored.get(workspace.id) == workspace.members:
            return
        self._stored[workspace.id] = dict(workspace.members)
        await self._execute(delete(memberships).where(memberships.c.workspace_id == workspace.id))
        if workspace.members:
            await self._execute(
                pg_insert(memberships).values(
                    [
                        {
                            "workspace_id": workspace.id,
                            "user_id": m.user_id,
                            "role": m.role.value,
                            "joined_at": m.joined_at,
                        }
                        for m in workspace.members.values()
                    ]
                )
            )


class SqlMembershipLookup(Statements, MembershipLookup):
    async def role_of(self, workspace_id: WorkspaceId, user_id: UserId) -> Role | None:
        role = (
            await self._execute(
                select(memberships.c.role).where(
                    memberships.c.workspace_id == workspace_id, memberships.c.user_id == user_id
                )
            )
        ).scalar_one_or_none()
        return Role(role) if role else None

    async def personal_workspace_of(self, user_id: UserId) -> WorkspaceId | None:
        found = (
            await self._execute(
                select(workspaces.c.id)
                .join(memberships, memberships.c.workspace_id == workspaces.c.id)
                .where(
                    memberships.c.user_id == user_id,
                    memberships.c.role == Role.OWNER.value,
                    workspaces.c.personal.is_(True),
                )
                .limit(1)
            )
        ).scalar_one_or_none()
        return WorkspaceId(found) if found else None


def _invitation(row: RowMapping) -> Invitation:
    return Invitation(
        id=row["id"],
        workspace_id=row["workspace_id"],
        email=Email(row["email"]),
        role=Role(row["role"]),
        invited_by=row["invited_by"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        accepted_at=row["accepted_at"],
        revoked_at=row["revoked_at"],
    )


class SqlInvitationRepository(UnitOfWorkStatements, InvitationRepository):
    async def add(self, invitation: Invitation, token_hash: str | None = None) -> None:
        await self._execute(
            insert(invitations).values(
                id=invitation.id,
                workspace_id=invitation.workspace_id,
                email=invitation.email.value,
                role=invitation.role.value,
                invited_by=invitation.invited_by,
                token_hash=token_hash,
                created_at=invitation.created_at,
                expires_at=invitation.expires_at,
            )
        )
        self._uow.track(invitation)

    async def _one(self, *where: Any) -> Invitation | None:
        row = (
            (await self._execute(select(invitations).where(*where).with_for_update()))
            .mappings()
            .first()
        )
        return _invitation(row) if row else None

    async def get(self, invitation_id: InvitationId) -> Invitation | None:
        return await self._one(invitations.c.id == invitation_id)

    async def by_token(self, token_hash: str) -> Invitation | None:
        return await self._one(invitations.c.token_hash == token_hash)

    async def set_token(self, invitation_id: InvitationId, token_hash: str) -> None:
        await self._execute(
            update(invitations)
            .where(invitations.c.id == invitation_id)
            .values(token_hash=token_hash)
        )

    async def pending_for(
        self, workspace_id: WorkspaceId, email: Email, now: datetime
    ) -> Invitation | None:
        return await self._one(
            invitations.c.workspace_id == workspace_id,
            invitations.c.email == email.value,
            invitations.c.accepted_at.is_(None),
            invitations.c.revoked_at.is_(None),
            invitations.c.expires_at > now,
        )

    async def save(self, invitation: Invitation) -> None:
        await self._execute(
            update(invitations)
            .where(invitations.c.id == invitation.id)
            .values(accepted_at=invitation.accepted_at, revoked_at=invitation.revoked_at)
        )
        self._uow.track(invitation)


def _api_key(row: RowMapping) -> ApiKey:
    return ApiKey(
        id=row["id"],
        workspace_id=row["workspace_id"],
        name=row["name"],
        prefix=row["prefix"],
        secret_hash=row["secret_hash"],
        scopes=frozenset(
            Permission(s) for s in row["scopes"] if s in Permission._value2member_map_
        ),
        created_by=row["created_by"],
        created_at=row["created_at"],
        expires_at=row["expires_at"],
        rate_limit_per_minute=row["rate_limit_per_minute"],
        revoked_at=row["revoked_at"],
    )


class SqlApiKeyRepository(UnitOfWorkStatements, ApiKeyRepository):
    async def add(self, key: ApiKey) -> None:
        await self._execute(
            insert(api_keys).values(
                id=key.id,
                workspace_id=key.workspace_id,
                name=key.name,
                prefix=key.prefix,
                secret_hash=key.secret_hash,
                scopes=sorted(s.value for s in key.scopes),
                created_by=key.created_by,
                created_at=key.created_at,
                expires_at=key.expires_at,
                rate_limit_per_minute=key.rate_limit_per_minute,
            )
        )

    async def get(self, key_id: ApiKeyId) -> ApiKey | None:
        row = (
            (await self._execute(select(api_keys).where(api_keys.c.id == key_id).with_for_update()))
            .mappings()
            .first()
        )
        return _api_key(row) if row else None

    async def save(self, key: ApiKey) -> None:
        await self._execute(
            update(api_keys).where(api_keys.c.id == key.id).values(revoked_at=key.revoked_at)
        )


class SqlApiKeyLookup(Statements, ApiKeyLookup):
    async def by_prefix(self, prefix: str) -> list[tuple[ApiKey, Role | None]]:
        rows = await self._execute(
            select(api_keys, memberships.c.role.label("creator_role"))
            .outerjoin(
                memberships,
                and_(
                    memberships.c.workspace_id == api_keys.c.workspace_id,
                    memberships.c.user_id == api_keys.c.created_by,
                ),
            )
            .where(api_keys.c.prefix == prefix)
        )
        return [
            (_api_key(row), Role(row["creator_role"]) if row["creator_role"] else None)
            for row in rows.mappings()
        ]


class PooledApiKeyLookup(ApiKeyLookup):
    """``SqlApiKeyLookup`` for APP scope (behind the per-process key cache):
    each read on a pooled connection of its own, held only for the statement."""

    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine

    async def by_prefix(self, prefix: str) -> list[tuple[ApiKey, Role | None]]:
        with translated():
            async with self._engine.connect() as connection:
                return await SqlApiKeyLookup(connection).by_prefix(prefix)


class SqlTenancyReader(Statements, WorkspaceReader, ApiKeyReader):
    def _workspace_query(self, user_id: UserId) -> Any:
        count = (
            select(func.count())
            .where(memberships.c.workspace_id == workspaces.c.id)
            .correlate(workspaces)
            .scalar_subquery()
        )
        mine = memberships.alias("mine")
        return select(
            workspaces.c.id,
            workspaces.c.name,
            workspaces.c.personal,
            mine.c.role,
            count.label("member_count"),
            workspaces.c.created_at,
            workspaces.c.updated_at,
        ).join(mine, and_(mine.c.workspace_id == workspaces.c.id, mine.c.user_id == user_id))

    async def list_for_user(self, user_id: UserId) -> list[WorkspaceView]:
        rows = await self._execute(
            self._workspace_query(user_id).order_by(workspaces.c.personal.desc(), workspaces.c.id)
        )
        return [WorkspaceView(**row) for row in rows.mappings()]

    async def get_for_user(
        self, workspace_id: WorkspaceId, user_id: UserId
    ) -> WorkspaceView | None:
        row = (
            (
                await self._execute(
                    self._workspace_query(user_id).where(workspaces.c.id == workspace_id)
                )
            )
            .mappings()
            .first()
        )
        return WorkspaceView(**row) if row else None

    async def members(self, workspace_id: WorkspaceId) -> list[MemberView]:
        rows = await self._execute(
            select(
                memberships.c.user_id,
                users.c.email,
                users.c.name,
                memberships.c.role,
                memberships.c.joined_at,
            )
            .join(users, users.c.id == memberships.c.user_id)
            .where(memberships.c.workspace_id == workspace_id)
            .order_by(memberships.c.joined_at, memberships.c.user_id)
        )
        return [MemberView(**row) for row in rows.mappings()]

    async def pending_invitations(
        self, workspace_id: WorkspaceId, now: datetime
    ) -> list[InvitationView]:
        rows = await self._execute(
            select(
                invitations.c.id,
                invitations.c.workspace_id,
                invitations.c.email,
                invitations.c.role,
                invitations.c.invited_by,
                invitations.c.created_at,
                invitations.c.expires_at,
            )
            .where(
                invitations.c.workspace_id == workspace_id,
                invitations.c.accepted_at.is_(None),
                invitations.c.revoked_at.is_(None),
                invitations.c.expires_at > now,
            )
            .order_by(invitations.c.id.desc())
        )
        return [InvitationView(**row) for row in rows.mappings()]

    async def list_active(self, workspace_id: WorkspaceId, now: datetime) -> list[ApiKeyView]:
        rows = await self._execute(
            select(
                api_keys.c.id,
                api_keys.c.name,
                api_keys.c.prefix,
                api_keys.c.scopes,
                api_keys.c.created_by,
                api_keys.c.created_at,
                api_keys.c.last_used_at,
                api_keys.c.expires_at,
                api_keys.c.rate_limit_per_minute,
            )
            .where(api_keys.c.workspace_id == workspace_id, api_keys.c.revoked_at.is_(None))
            .order_by(api_keys.c.id.desc())
        )
        return [ApiKeyView(**{**row, "scopes": list(row["scopes"])}) for row in rows.mappings()]
