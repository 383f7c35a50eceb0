from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from application.common.tenancy import WorkspaceActor
from application.ports.rate_limit import UsageRecorder
from application.ports.system import Clock
from application.ports.tenancy_reads import ApiKeyReader, ApiKeyView
from domain.identity.api_key import ApiKeyId
from domain.tenancy.roles import Permission


@dataclass(frozen=True, slots=True, kw_only=True)
class ListApiKeys:
    actor: WorkspaceActor


class ListApiKeysHandler:
    """Live keys of the workspace, never their secrets. ``last_used_at`` includes
    uses not yet flushed to the database."""

    def __init__(self, keys: ApiKeyReader, usage: UsageRecorder, clock: Clock) -> None:
        self._keys = keys
        self._usage = usage
        self._clock = clock

    async def execute(self, q: ListApiKeys) -> list[ApiKeyView]:
        q.actor.require(Permission.API_KEYS_MANAGE)
        views = await self._keys.list_active(q.actor.workspace_id, self._clock.now())
        pending = await self._usage.pending_last_used([ApiKeyId(v.id) for v in views])

        def latest(view: ApiKeyView) -> ApiKeyView:
            noted = pending.get(ApiKeyId(view.id))
            if noted is None or (view.last_used_at and view.last_used_at >= noted):
                return view
            return dataclasses.replace(view, last_used_at=noted)

        return [latest(view) for view in views]
