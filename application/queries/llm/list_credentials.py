from __future__ import annotations

from dataclasses import dataclass

from application.common.tenancy import WorkspaceActor
from application.ports.llm_credentials import CredentialReader, CredentialView
from domain.tenancy.roles import Permission


@dataclass(frozen=True, slots=True, kw_only=True)
class ListCredentials:
    actor: WorkspaceActor


class ListCredentialsHandler:
    """The workspace's credentials, oldest first: their last 4 characters, never the keys."""

    def __init__(self, credentials: CredentialReader) -> None:
        self._credentials = credentials

    async def execute(self, q: ListCredentials) -> list[CredentialView]:
        q.actor.require(Permission.CREDENTIALS_MANAGE)
        return await self._credentials.list(q.actor.workspace_id)
