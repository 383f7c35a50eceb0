from __future__ import annotations

from dataclasses import dataclass

from application.commands.llm.set_budget import governance_audit, require_own_key
from application.common.tenancy import WorkspaceActor
from application.llm.policy import CachedPolicyLookup
from application.ports.audit import AuditLog
from application.ports.llm_governance import GovernanceRepository
from application.ports.tenancy import ApiKeyRepository
from application.ports.transaction import TransactionManager
from domain.audit.entry import AuditAction
from domain.identity.api_key import ApiKeyId
from domain.llm.errors import InvalidLimits
from domain.llm.governance import Limits
from domain.tenancy.roles import Permission


@dataclass(frozen=True, slots=True, kw_only=True)
class SetLimits:
    actor: WorkspaceActor
    api_key_id: ApiKeyId | None  # None: the workspace's own limits
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    max_concurrent: int | None = None


class SetLimitsHandler:
    """Creates or replaces the limits of the workspace or of one key. At least
    one limit must be given: limits with none would mean "the operator's
    defaults" for a workspace, which removing them already says."""

    def __init__(
        self,
        governance: GovernanceRepository,
        keys: ApiKeyRepository,
        audit: AuditLog,
        tx: TransactionManager,
        policies: CachedPolicyLookup,
    ) -> None:
        self._governance = governance
        self._keys = keys
        self._audit = audit
        self._tx = tx
        self._policies = policies

    async def execute(self, cmd: SetLimits) -> Limits:
        cmd.actor.require(Permission.LLM_MANAGE)
        limits = Limits(
            requests_per_minute=cmd.requests_per_minute,
            tokens_per_minute=cmd.tokens_per_minute,
            max_concurrent=cmd.max_concurrent,
        )
        if limits.unlimited:
            raise InvalidLimits(
                "Give at least one of requests_per_minute, tokens_per_minute and "
                "max_concurrent; DELETE removes the limits."
            )
        await require_own_key(self._keys, cmd.actor, cmd.api_key_id)
        await self._governance.put_limits(cmd.actor.workspace_id, cmd.api_key_id, limits)
        await self._audit.record(
            governance_audit(
                cmd.actor,
                AuditAction.LLM_LIMITS_SET,
                cmd.api_key_id,
                {
                    "requests_per_minute": limits.requests_per_minute,
                    "tokens_per_minute": limits.tokens_per_minute,
                    "max_concurrent": limits.max_concurrent,
                },
            )
        )
        await self._tx.commit()
        self._policies.forget(cmd.actor.workspace_id)
        return limits
