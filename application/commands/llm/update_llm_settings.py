from __future__ import annotations

from dataclasses import dataclass

from application.common.tenancy import WorkspaceActor, audit_by
from application.llm.policy import CachedPolicyLookup
from application.ports.audit import AuditLog
from application.ports.llm_governance import GovernanceRepository
from application.ports.transaction import TransactionManager
from domain.audit.entry import AuditAction
from domain.tenancy.roles import Permission


@dataclass(frozen=True, slots=True, kw_only=True)
class UpdateLlmSettings:
    actor: WorkspaceActor
    refuse_unpriced_models: bool


class UpdateLlmSettingsHandler:
    """With ``refuse_unpriced_models`` on, a call that could only be served by
    a model without a known price is refused instead of recorded at unknown cost."""

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

    async def execute(self, cmd: UpdateLlmSettings) -> None:
        cmd.actor.require(Permission.LLM_MANAGE)
        await self._governance.put_refuse_unpriced(
            cmd.actor.workspace_id, cmd.refuse_unpriced_models
        )
        await self._audit.record(
            audit_by(
                cmd.actor,
                AuditAction.LLM_SETTINGS_CHANGED,
                target_type="workspace",
                target_id=cmd.actor.workspace_id,
                metadata={"refuse_unpriced_models": cmd.refuse_unpriced_models},
            )
        )
        await self._tx.commit()
        self._policies.forget(cmd.actor.workspace_id)
