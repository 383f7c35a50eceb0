"""Random sequences of member operations never break the workspace's invariants."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import UUID

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from domain.common.errors import DomainError
from domain.identity.ids import UserId
from domain.tenancy.ids import WorkspaceId
from domain.tenancy.roles import Permission, Role, can
from domain.tenancy.workspace import Membership, Workspace, WorkspaceName

NOW = datetime(2026, 1, 1, tzinfo=UTC)
PEOPLE = [UserId(UUID(int=i)) for i in range(1, 7)]
people = st.sampled_from(PEOPLE)
grantable = st.sampled_from([Role.VIEWER, Role.MEMBER, Role.ADMIN])
any_role = st.sampled_from(list(Role))


class MemberOperations(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.workspace = Workspace.create(
            id=WorkspaceId(UUID(int=99)), name=WorkspaceName("Team"), owner=PEOPLE[0], now=NOW
        )

    def snapshot(self) -> dict[UserId, Membership]:
        return dict(self.workspace.members)

    def attempt(self, operation: object) -> bool:
        """Run an operation; a refused one must leave the members exactly as they were."""
        before = self.snapshot()
        try:
            operation()  # type: ignore[operator]
        except DomainError:
            assert self.snapshot() == before
            return False
        return True

    def role(self, user: UserId) -> Role | None:
        membership = self.workspace.members.get(user)
        return membership.role if membership else None

    @rule(user=people, role=grantable)
    def join(self, user: UserId, role: Role) -> None:
        was_member = user in self.workspace.members
        joined = self.attempt(lambda: self.workspace.add_member(user, role, NOW))
        assert joined is not was_member

    @rule(actor=people, other=people, role=any_role)
    def change_role(self, actor: UserId, other: UserId, role: Role) -> None:
        actor_role, target_role = self.role(actor), self.role(other)
        if self.attempt(lambda: self.workspace.change_role(actor, other, role)):
            assert actor_role is not None and target_role is not None
            assert can(actor_role, Permission.MEMBERS_MANAGE)
            assert actor_role.at_least(role), "granted a role above the actor's own"
            assert actor_role.at_least(target_role)
            assert target_role is not Role.OWNER, "the owner's role was changed"
            assert role is not Role.OWNER
            assert self.role(other) is role

    @rule(actor=people, other=people)
    def remove(self, actor: UserId, other: UserId) -> None:
        actor_role, target_role = self.role(actor), self.role(other)
        if self.attempt(lambda: self.workspace.remove_member(actor, other)):
            assert actor_role is not None and target_role is not None
            assert can(actor_role, Permission.MEMBERS_MANAGE)
            assert target_role is not Role.OWNER, "the owner was removed"
            assert actor_role.at_least(target_role)
            assert other not in self.workspace.members

    @rule(user=people)
    def leave(self, user: UserId) -> None:
        role = self.role(user)
        if self.attempt(lambda: self.workspace.leave(user)):
            assert role is not None and role is not Role.OWNER, "the owner left"
            assert user not in self.workspace.members

    @rule(actor=people, other=people)
    def transfer(self, actor: UserId, other: UserId) -> None:
        actor_role, target_is_member = self.role(actor), other in self.workspace.members
        if self.attempt(lambda: self.workspace.transfer_ownership(actor, other)):
            assert actor_role is Role.OWNER and target_is_member
            assert self.workspace.owner == other
            if other != actor:
                assert self.role(actor) is Role.ADMIN

    @invariant()
    def exactly_one_owner(self) -> None:
        owners = [m for m in self.workspace.members.values() if m.role is Role.OWNER]
        assert len(owners) == 1

    @invariant()
    def memberships_are_keyed_by_their_user(self) -> None:
        assert all(key == m.user_id for key, m in self.workspace.members.items())


MemberOperations.TestCase.settings = settings(
    max_examples=300, stateful_step_count=40, deadline=None
)
TestMemberOperations = MemberOperations.TestCase
