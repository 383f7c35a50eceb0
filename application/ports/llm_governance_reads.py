"""Reads of a workspace's budgets, limits and LLM settings, for its admins."""

from __future__ import annotations

from abc import abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from domain.identity.api_key import ApiKeyId
from domain.llm.governance import Budget, Limits
from domain.tenancy.ids import WorkspaceId


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredBudget:
    budget: Budget
    api_key_name: str | None  # the key's name, for a key's budget
    updated_at: datetime


@dataclass(frozen=True, slots=True, kw_only=True)
class StoredLimits:
    api_key_id: ApiKeyId | None  # None: the workspace's own limits
    api_key_name: str | None
    limits: Limits
    updated_at: datetime


class GovernanceReader(Protocol):
    @abstractmethod
    async def budgets(self, workspace_id: WorkspaceId) -> list[StoredBudget]:
        """The workspace's budget first, then its keys' budgets by key id."""

    @abstractmethod
    async def limits(self, workspace_id: WorkspaceId) -> list[StoredLimits]:
        """The workspace's limits first, then its keys' limits by key id."""

    @abstractmethod
    async def refuse_unpriced(self, workspace_id: WorkspaceId) -> bool:
        """False when the workspace never changed its settings."""
