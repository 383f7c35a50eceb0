from __future__ import annotations

from dataclasses import dataclass

from application.common.tenancy import WorkspaceActor
from application.ports.system import Clock
from application.ports.tenancy_reads import InvitationView, WorkspaceReader
from domain.tenancy.roles import Permission


@dataclass(frozen=True, slots=True, kw_only=True)
class ListInvitations:
    actor: WorkspaceActor


class ListInvitationsHandler:
    """Pending invitations only: accepted ones are members, revoked and expired ones gone."""

    def __init__(self, workspaces: WorkspaceReader, clock: Clock) -> None:
        self._workspaces = workspaces
        self._clock = clock

    async def execute(self, q: ListInvitations) -> list[InvitationView]:
        q.actor.require(Permission.INVITATIONS_MANAGE)
        return await self._workspaces.pending_invitations(q.actor.workspace_id, self._clock.now())
