from __future__ import annotations

from dataclasses import dataclass

from application.ports.identity import SessionCache, SessionStatusReader
from application.ports.security import AccessTokenIssuer
from application.ports.system import Clock
from domain.identity.errors import InvalidAccessToken
from domain.identity.ids import SessionId, UserId


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthenticatedUser:
    user_id: UserId
    session_id: SessionId


class AuthenticateAccessToken:
    """Turns a bearer JWT into the user behind it, or refuses it.

    The signature alone is not enough: the session must still be live, so a
    logout or revocation takes effect on the next request, not at expiry.
    """

    def __init__(
        self,
        issuer: AccessTokenIssuer,
        cache: SessionCache,
        sessions: SessionStatusReader,
        clock: Clock,
    ) -> None:
        self._issuer = issuer
        self._cache = cache
        self._sessions = sessions
        self._clock = clock

    async def execute(self, token: str) -> AuthenticatedUser:
        claims = self._issuer.verify(token)
        active = await self._cache.is_active(claims.session_id)
        if active is None:
            active = await self._sessions.is_active(
                claims.session_id, claims.user_id, self._clock.now()
            )
            if active:
                await self._cache.remember_active(claims.session_id)
        if not active:
            raise InvalidAccessToken
        return AuthenticatedUser(user_id=claims.user_id, session_id=claims.session_id)
