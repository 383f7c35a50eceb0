from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from application.common.tenancy import WorkspaceActor
from application.llm.settings import LlmSettings
from application.ports.llm_governance_reads import GovernanceReader
from domain.identity.api_key import ApiKeyId
from domain.llm.governance import Limits
from domain.tenancy.roles import Permission


@dataclass(frozen=True, slots=True, kw_only=True)
class ListLimits:
    actor: WorkspaceActor


@dataclass(frozen=True, slots=True, kw_only=True)
class LimitsStatus:
    api_key_id: ApiKeyId | None  # None: the workspace's
    api_key_name: str | None
    limits: Limits
    default: bool  # the operator's defaults, in force because the workspace set none
    updated_at: datetime | None


class ListLimitsHandler:
    """The limits in force: the workspace's own, or the operator's defaults
    when it set none (and the operator configured some), then each key's."""

    def __init__(self, reader: GovernanceReader, settings: LlmSettings) -> None:
        self._reader = reader
        self._settings = settings

    async def execute(self, q: ListLimits) -> list[LimitsStatus]:
        q.actor.require(Permission.LLM_MANAGE)
        stored = await self._reader.limits(q.actor.workspace_id)
        found = [
            LimitsStatus(
                api_key_id=s.api_key_id,
                api_key_name=s.api_key_name,
                limits=s.limits,
                default=False,
                updated_at=s.updated_at,
            )
            for s in stored
        ]
        defaults = Limits(
            requests_per_minute=self._settings.default_requests_per_minute,
            tokens_per_minute=self._settings.default_tokens_per_minute,
            max_concurrent=self._settings.default_max_concurrent,
        )
        has_own = any(s.api_key_id is None and not s.limits.unlimited for s in stored)
        if not has_own and not defaults.unlimited:
            found = [s for s in found if s.api_key_id is not None]
            found.insert(
                0,
                LimitsStatus(
                    api_key_id=None,
                    api_key_name=None,
                    limits=defaults,
                    default=True,
                    updated_at=None,
                ),
            )
        return found
