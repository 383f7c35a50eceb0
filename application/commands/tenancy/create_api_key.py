from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from application.common.tenancy import WorkspaceActor, audit_by
from application.ports.audit import AuditLog
from application.ports.security import SecretTokens
from application.ports.system import Clock, IdGenerator
from application.ports.tenancy import ApiKeyRepository
from application.ports.transaction import TransactionManager
from domain.audit.entry import AuditAction
from domain.identity.api_key import (
    LOOKUP_PREFIX_LENGTH,
    MAX_RATE_LIMIT_PER_MINUTE,
    SECRET_PREFIX,
    ApiKey,
    ApiKeyId,
    InvalidApiKey,
    parse_key_name,
    parse_scopes,
)
from domain.tenancy.errors import InsufficientRole
from domain.tenancy.roles import Permission


@dataclass(frozen=True, slots=True, kw_only=True)
class CreateApiKey:
    actor: WorkspaceActor
    name: str
    scopes: list[str] | None = None
    expires_at: datetime | None = None
    rate_limit_per_minute: int | None = None


class CreateApiKeyHandler:
    """Returns the key and its secret: the only time the secret exists outside
    the caller's hands. Only its hash is stored."""

    def __init__(
        self,
        keys: ApiKeyRepository,
        secrets: SecretTokens,
        audit: AuditLog,
        ids: IdGenerator,
        clock: Clock,
        tx: TransactionManager,
    ) -> None:
        self._keys = keys
        self._secrets = secrets
        self._audit = audit
        self._ids = ids
        self._clock = clock
        self._tx = tx

    async def execute(self, cmd: CreateApiKey) -> tuple[ApiKey, str]:
        cmd.actor.require(Permission.API_KEYS_MANAGE)
        if cmd.actor.api_key_id is not None:
            raise InsufficientRole("API keys are created by signed-in users, not by other keys.")
        now = self._clock.now()
        name = parse_key_name(cmd.name)
        scopes = parse_scopes(cmd.scopes)
        expires_at = cmd.expires_at
        if expires_at is not None and expires_at.tzinfo is None:
            expires_at = expires_at.replace(tzinfo=UTC)  # no offset given: UTC
        if expires_at is not None and expires_at <= now:
            raise InvalidApiKey("expires_at must be in the future.", field="expires_at")
        limit = cmd.rate_limit_per_minute
        if limit is not None and not 1 <= limit <= MAX_RATE_LIMIT_PER_MINUTE:
            raise InvalidApiKey(
                f"rate_limit_per_minute must be 1 to {MAX_RATE_LIMIT_PER_MINUTE}.",
                field="rate_limit_per_minute",
            )
        secret = SECRET_PREFIX + self._secrets.generate()
        key = ApiKey(
            id=ApiKeyId(self._ids.new()),
            workspace_id=cmd.actor.workspace_id,
            name=name,
            prefix=secret[:LOOKUP_PREFIX_LENGTH],
            secret_hash=self._secrets.fingerprint(secret),
            scopes=scopes,
            created_by=cmd.actor.user_id,
            created_at=now,
            expires_at=expires_at,
            rate_limit_per_minute=limit,
        )
        await self._keys.add(key)
        await self._audit.record(
            audit_by(
                cmd.actor,
                AuditAction.API_KEY_CREATED,
                target_type="api_key",
                target_id=key.id,
                metadata={"name": name, "prefix": key.prefix},
            )
        )
        await self._tx.commit()
        return key, secret
