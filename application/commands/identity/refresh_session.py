from __future__ import annotations

from dataclasses import dataclass

from application.common.identity import IdentitySettings, TokenPair
from application.ports.audit import AuditLog
from application.ports.identity import RefreshTokenRepository, SessionCache, SessionRepository
from application.ports.security import AccessTokenIssuer, SecretTokens
from application.ports.system import Clock
from application.ports.transaction import TransactionManager
from domain.audit.entry import ActorType, AuditAction, AuditEvent
from domain.identity.errors import InvalidRefreshToken


@dataclass(frozen=True, slots=True, kw_only=True)
class RefreshSession:
    refresh_token: str


class RefreshSessionHandler:
    def __init__(
        self,
        sessions: SessionRepository,
        refresh_tokens: RefreshTokenRepository,
        secrets: SecretTokens,
        issuer: AccessTokenIssuer,
        cache: SessionCache,
        audit: AuditLog,
        settings: IdentitySettings,
        clock: Clock,
        tx: TransactionManager,
    ) -> None:
        self._sessions = sessions
        self._refresh_tokens = refresh_tokens
        self._secrets = secrets
        self._issuer = issuer
        self._cache = cache
        self._audit = audit
        self._settings = settings
        self._clock = clock
        self._tx = tx

    async def execute(self, cmd: RefreshSession) -> TokenPair:
        now = self._clock.now()
        presented = self._secrets.fingerprint(cmd.refresh_token)
        session_id = await self._refresh_tokens.spend(presented, now)
        if session_id is None:
            await self._revoke_on_reuse(presented)
            raise InvalidRefreshToken
        session = await self._sessions.get(session_id)
        if session is None or not session.is_active(now):
            raise InvalidRefreshToken  # rolls back: the spend is not kept

        session.touch(now, self._settings.session_lifetime)
        await self._sessions.save(session)
        refresh_token = self._secrets.generate()
        await self._refresh_tokens.add(self._secrets.fingerprint(refresh_token), session.id, now)
        await self._tx.commit()
        access = self._issuer.issue(session.user_id, session.id, now)
        return TokenPair(
            access_token=access.token,
            refresh_token=refresh_token,
            expires_in=access.expires_in,
            user_id=session.user_id,
            session_id=session.id,
        )

    async def _revoke_on_reuse(self, presented: str) -> None:
        """A spent token came back: end its whole session, whoever holds it."""
        session_id = await self._refresh_tokens.session_of(presented)
        session = await self._sessions.get(session_id) if session_id else None
        if session is None or session.revoked_at is not None:
            return
        session.detect_reuse(self._clock.now())
        await self._sessions.save(session)
        await self._audit.record(
            AuditEvent(
                action=AuditAction.REFRESH_TOKEN_REUSE,
                actor_type=ActorType.ANONYMOUS,
                subject_user=session.user_id,
                target_type="session",
                target_id=session.id,
            )
        )
        await self._tx.commit()
        await self._cache.forget([session.id])
