from __future__ import annotations

from dataclasses import dataclass

from application.ports.identity_reads import SessionReader, SessionView
from application.ports.system import Clock
from domain.identity.ids import SessionId, UserId


@dataclass(frozen=True, slots=True, kw_only=True)
class ListSessions:
    user_id: UserId
    current_session_id: SessionId


class ListSessionsHandler:
    """The user's live sessions, newest first, the caller's own marked ``current``."""

    def __init__(self, sessions: SessionReader, clock: Clock) -> None:
        self._sessions = sessions
        self._clock = clock

    async def execute(self, q: ListSessions) -> list[SessionView]:
        return await self._sessions.list_active(q.user_id, q.current_session_id, self._clock.now())
