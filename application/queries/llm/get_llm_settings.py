from __future__ import annotations

from dataclasses import dataclass

from application.common.tenancy import WorkspaceActor
from application.ports.llm_governance_reads import GovernanceReader
from domain.tenancy.roles import Permission


@dataclass(frozen=True, slots=True, kw_only=True)
class GetLlmSettings:
    actor: WorkspaceActor


@dataclass(frozen=True, slots=True, kw_only=True)
class LlmSettingsView:
    refuse_unpriced_models: bool


class GetLlmSettingsHandler:
    def __init__(self, reader: GovernanceReader) -> None:
        self._reader = reader

    async def execute(self, q: GetLlmSettings) -> LlmSettingsView:
        q.actor.require(Permission.LLM_MANAGE)
        return LlmSettingsView(
            refuse_unpriced_models=await self._reader.refuse_unpriced(q.actor.workspace_id)
        )
