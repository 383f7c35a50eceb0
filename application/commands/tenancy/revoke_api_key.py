from __future__ import annotations

from dataclasses import dataclass

from application.common.tenancy import WorkspaceActor, audit_by
from application.ports.audit import AuditLog
from application.ports.system import Clock
from application.ports.tenancy import AccessChanges, ApiKeyRepository
from application.ports.transaction import TransactionManager
from domain.audit.entry import AuditAction
from domain.identity.api_key import ApiKeyId, ApiKeyNotFound
from domain.tenancy.roles import Permission


@dataclass(frozen=True, slots=True, kw_only=True)
class RevokeApiKey:
    actor: WorkspaceActor
    key_id: ApiKeyId


class RevokeApiKeyHandler:
    """Revoked keys are refused from the next request on, on every replica:
    the revocation is announced to every process's cache of keys."""

    def __init__(
        self,
        keys: ApiKeyRepository,
        audit: AuditLog,
        clock: Clock,
        tx: TransactionManager,
        access: AccessChanges,
    ) -> None:
        self._keys = keys
        self._audit = audit
        self._clock = clock
        self._tx = tx
        self._access = access

    async def execute(self, cmd: RevokeApiKey) -> None:
        cmd.actor.require(Permission.API_KEYS_MANAGE)
        key = await self._keys.get(cmd.key_id)
        if key is None or key.workspace_id != cmd.actor.workspace_id or key.revoked_at:
            raise ApiKeyNotFound
        key.revoke(self._clock.now())
        await self._keys.save(key)
        await self._audit.record(
            audit_by(
                cmd.actor,
                AuditAction.API_KEY_REVOKED,
                target_type="api_key",
                target_id=key.id,
                metadata={"name": key.name, "prefix": key.prefix},
            )
        )
        await self._tx.commit()
        await self._access.changed(cmd.actor.workspace_id)
