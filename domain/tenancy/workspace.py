"""The workspace aggregate: its members and the invariants over them.

Exactly one owner; nobody grants or manages a role above their own; the
owner's membership is changed only by transferring ownership; the owner
cannot leave. Non-members get WorkspaceNotFound, never Forbidden, so a
workspace one does not belong to is indistinguishable from none.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from domain.common.events import Aggregate
from domain.common.text import display_name
from domain.identity.ids import UserId
from domain.tenancy.errors import (
    AlreadyMember,
    InvalidRole,
    InvalidWorkspaceName,
    MemberNotFound,
    OwnerCannotLeave,
    OwnerProtected,
    PersonalWorkspace,
    RoleAboveYourOwn,
    WorkspaceNotFound,
)
from domain.tenancy.events import WorkspaceCreated, WorkspaceDeleted
from domain.tenancy.ids import WorkspaceId
from domain.tenancy.roles import Permission, Role, ensure_can

NAME_MAX_LENGTH = 120


@dataclass(frozen=True, slots=True)
class WorkspaceName:
    value: str

    @classmethod
    def parse(cls, raw: str) -> WorkspaceName:
        return cls(
            display_name(raw, max_length=NAME_MAX_LENGTH, error=InvalidWorkspaceName, field="name")
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Membership:
    user_id: UserId
    role: Role
    joined_at: datetime


@dataclass(kw_only=True, eq=False)
class Workspace(Aggregate):
    id: WorkspaceId
    name: WorkspaceName
    personal: bool
    created_at: datetime
    updated_at: datetime
    members: dict[UserId, Membership] = field(default_factory=dict)
    deleted: bool = False

    @classmethod
    def create(
        cls,
        *,
        id: WorkspaceId,
        name: WorkspaceName,
        owner: UserId,
        now: datetime,
        personal: bool = False,
    ) -> Workspace:
        workspace = cls(id=id, name=name, personal=personal, created_at=now, updated_at=now)
        workspace.members[owner] = Membership(user_id=owner, role=Role.OWNER, joined_at=now)
        workspace.record(WorkspaceCreated(workspace_id=id, owner_id=owner))
        return workspace

    @property
    def owner(self) -> UserId:
        return next(m.user_id for m in self.members.values() if m.role is Role.OWNER)

    def role_of(self, user: UserId) -> Role:
        """The member's role; WorkspaceNotFound for anyone else."""
        membership = self.members.get(user)
        if membership is None:
            raise WorkspaceNotFound
        return membership.role

    def _member(self, user: UserId) -> Membership:
        membership = self.members.get(user)
        if membership is None:
            raise MemberNotFound
        return membership

    def rename(self, actor: UserId, name: WorkspaceName, now: datetime) -> None:
        ensure_can(self.role_of(actor), Permission.WORKSPACE_RENAME)
        self.name = name
        self.updated_at = now

    def delete(self, actor: UserId, *, with_account: bool = False) -> None:
        """Only the owner deletes; a personal workspace goes only with its owner's account."""
        ensure_can(self.role_of(actor), Permission.WORKSPACE_DELETE)
        if self.personal and not with_account:
            raise PersonalWorkspace
        self.deleted = True
        self.record(WorkspaceDeleted(workspace_id=self.id))

    def ensure_can_grant(self, actor: UserId, role: Role, permission: Permission) -> Role:
        """The actor may hand out ``role`` (through ``permission``); returns the actor's role."""
        actor_role = self.role_of(actor)
        ensure_can(actor_role, permission)
        if not actor_role.at_least(role):
            raise RoleAboveYourOwn
        if role is Role.OWNER:
            raise InvalidRole("Ownership is given only by transferring it.", field="role")
        return actor_role

    def add_member(self, user: UserId, role: Role, now: datetime) -> Membership:
        if user in self.members:
            raise AlreadyMember
        if role is Role.OWNER:
            raise InvalidRole("Ownership is given only by transferring it.", field="role")
        membership = Membership(user_id=user, role=role, joined_at=now)
        self.members[user] = membership
        return membership

    def change_role(self, actor: UserId, target: UserId, role: Role) -> Role:
        """Returns the target's previous role."""
        actor_role = self.ensure_can_grant(actor, role, Permission.MEMBERS_MANAGE)
        current = self._member(target)
        if current.role is Role.OWNER:
            raise OwnerProtected
        if not actor_role.at_least(current.role):
            raise RoleAboveYourOwn
        self.members[target] = Membership(user_id=target, role=role, joined_at=current.joined_at)
        return current.role

    def remove_member(self, actor: UserId, target: UserId) -> Role:
        actor_role = self.role_of(actor)
        ensure_can(actor_role, Permission.MEMBERS_MANAGE)
        current = self._member(target)
        if current.role is Role.OWNER:
            raise OwnerProtected
        if not actor_role.at_least(current.role):
            raise RoleAboveYourOwn
        del self.members[target]
        return current.role

    def leave(self, user: UserId) -> Role:
        role = self.role_of(user)
        if role is Role.OWNER:
            raise PersonalWorkspace if self.personal else OwnerCannotLeave
        del self.members[user]
        return role

    def transfer_ownership(self, actor: UserId, target: UserId) -> None:
        ensure_can(self.role_of(actor), Permission.OWNERSHIP_TRANSFER)
        if self.personal:
            raise PersonalWorkspace("A personal workspace stays with its owner.")
        new_owner = self._member(target)
        if target == actor:
            return
        old = self.members[actor]
        self.members[actor] = Membership(user_id=actor, role=Role.ADMIN, joined_at=old.joined_at)
        self.members[target] = Membership(
            user_id=target, role=Role.OWNER, joined_at=new_owner.joined_at
        )
