from abc import abstractmethod
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from application.common.identity import UserView
from domain.identity.ids import SessionId, UserId

MAX_SESSIONS_LISTED = 200


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionView:
    id: UUID
    created_at: datetime
    last_used_at: datetime
    expires_at: datetime
    user_agent: str | None
    client_address: str | None
    current: bool


class UserReader(Protocol):
    @abstractmethod
    async def get(self, user_id: UserId) -> UserView | None: ...


class SessionReader(Protocol):
    @abstractmethod
    async def list_active(
        self, user_id: UserId, current: SessionId, now: datetime
    ) -> list[SessionView]:
        """At most MAX_SESSIONS_LISTED, newest first."""
