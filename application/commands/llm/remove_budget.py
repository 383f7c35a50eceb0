from __future__ import annotations

from dataclasses import dataclass

from application.commands.llm.set_budget import governance_audit
from application.common.tenancy import WorkspaceActor
from application.llm.policy import CachedPolicyLookup
from application.ports.audit import AuditLog
from application.ports.llm_governance import GovernanceRepository
from application.ports.transaction import TransactionManager
from domain.audit.entry import AuditAction
from domain.identity.api_key import ApiKeyId
from domain.llm.errors import BudgetNotFound
from domain.tenancy.roles import Permission


@dataclass(frozen=True, slots=True, kw_only=True)
class RemoveBudget:
    actor: WorkspaceActor
    api_key_id: ApiKeyId | None  # None: the workspace's own budget


class RemoveBudgetHandler:
    """No budget there (or a key of another workspace): BudgetNotFound."""

    def __init__(
        self,
        governance: GovernanceRepository,
        audit: AuditLog,
        tx: TransactionManager,
        policies: CachedPolicyLookup,
    ) -> None:
        self._governance = governance
        self._audit = audit
        self._tx = tx
        self._policies = policies

    async def execute(self, cmd: RemoveBudget) -> None:
        cmd.actor.require(Permission.LLM_MANAGE)
        if not await self._governance.remove_budget(cmd.actor.workspace_id, cmd.api_key_id):
            raise BudgetNotFound
        await self._audit.record(
            governance_audit(cmd.actor, AuditAction.LLM_BUDGET_REMOVED, cmd.api_key_id, {})
        )
        await self._tx.commit()
        self._policies.forget(cmd.actor.workspace_id)
