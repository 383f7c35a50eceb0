from __future__ import annotations

from dataclasses import dataclass

from application.common.tenancy import WorkspaceActor, audit_by
from application.llm.endpoints import EndpointResolver
from application.ports.audit import AuditLog
from application.ports.llm_credentials import CredentialRepository
from application.ports.transaction import TransactionManager
from domain.audit.entry import AuditAction
from domain.llm.errors import CredentialNotFound
from domain.llm.ids import CredentialId
from domain.tenancy.roles import Permission


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteCredential:
    actor: WorkspaceActor
    credential_id: CredentialId


class DeleteCredentialHandler:
    """This process stops using the key at once; other replicas when their
    cache of the workspace expires (``policy_cache_seconds``)."""

    def __init__(
        self,
        credentials: CredentialRepository,
        audit: AuditLog,
        tx: TransactionManager,
        endpoints: EndpointResolver,
    ) -> None:
        self._credentials = credentials
        self._audit = audit
        self._tx = tx
        self._endpoints = endpoints

    async def execute(self, cmd: DeleteCredential) -> None:
        cmd.actor.require(Permission.CREDENTIALS_MANAGE)
        credential = await self._credentials.get(cmd.actor.workspace_id, cmd.credential_id)
        if credential is None:
            raise CredentialNotFound
        await self._credentials.remove(credential)
        await self._audit.record(
            audit_by(
                cmd.actor,
                AuditAction.LLM_CREDENTIAL_DELETED,
                target_type="llm_credential",
                target_id=credential.id,
                metadata={"provider": credential.provider.value, "name": credential.name},
            )
        )
        await self._tx.commit()
        self._endpoints.forget(cmd.actor.workspace_id)
