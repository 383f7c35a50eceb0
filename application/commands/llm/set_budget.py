from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from application.common.tenancy import WorkspaceActor, audit_by
from application.llm.policy import CachedPolicyLookup
from application.ports.audit import AuditLog
from application.ports.llm_governance import GovernanceRepository
from application.ports.tenancy import ApiKeyRepository
from application.ports.transaction import TransactionManager
from domain.audit.entry import AuditAction, AuditEvent
from domain.identity.api_key import ApiKeyId, ApiKeyNotFound
from domain.llm.governance import Budget, BudgetPeriod, usd_to_micros
from domain.tenancy.roles import Permission


@dataclass(frozen=True, slots=True, kw_only=True)
class SetBudget:
    actor: WorkspaceActor
    api_key_id: ApiKeyId | None  # None: the workspace's own budget
    limit_usd: Decimal
    period: str


async def require_own_key(
    keys: ApiKeyRepository, actor: WorkspaceActor, api_key_id: ApiKeyId | None
) -> None:
    """A key named by an admin is a live key of their workspace; anything else
    is ApiKeyNotFound, as if it did not exist."""
    if api_key_id is None:
        return
    key = await keys.get(api_key_id)
    if key is None or key.workspace_id != actor.workspace_id or key.revoked_at is not None:
        raise ApiKeyNotFound


def governance_audit(
    actor: WorkspaceActor,
    action: AuditAction,
    api_key_id: ApiKeyId | None,
    metadata: dict[str, object],
) -> AuditEvent:
    """Entries about the workspace's own settings target the workspace; about a key, the key."""
    return audit_by(
        actor,
        action,
        target_type="api_key" if api_key_id is not None else "workspace",
        target_id=api_key_id if api_key_id is not None else actor.workspace_id,
        metadata={"scope": "api_key" if api_key_id is not None else "workspace", **metadata},
    )


class SetBudgetHandler:
    """Creates or replaces a budget. Calls see it at once in this process,
    within the policy cache's TTL in other replicas; what was already spent
    in the current period still counts against the new limit."""

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

    async def execute(self, cmd: SetBudget) -> Budget:
        cmd.actor.require(Permission.LLM_MANAGE)
        budget = Budget(
            workspace_id=cmd.actor.workspace_id,
            api_key_id=cmd.api_key_id,
            limit_micros=usd_to_micros(cmd.limit_usd),
            period=BudgetPeriod.parse(cmd.period),
        )
        await require_own_key(self._keys, cmd.actor, cmd.api_key_id)
        await self._governance.put_budget(budget)
        await self._audit.record(
            governance_audit(
                cmd.actor,
                AuditAction.LLM_BUDGET_SET,
                cmd.api_key_id,
                {"limit_micros": budget.limit_micros, "period": budget.period.value},
            )
        )
        await self._tx.commit()
        self._policies.forget(budget.workspace_id)
        return budget
