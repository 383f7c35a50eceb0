from abc import abstractmethod
from datetime import datetime
from typing import Protocol

from domain.identity.email import Email
from domain.identity.ids import SessionId, UserId
from domain.identity.one_time_token import TokenPurpose
from domain.identity.session import Session
from domain.identity.user import User


class UserRepository(Protocol):
    @abstractmethod
    async def add(self, user: User) -> None:
        """Insert; raise EmailTaken when the address is registered already."""

    @abstractmethod
    async def get(self, user_id: UserId) -> User | None: ...
    @abstractmethod
    async def get_by_email(self, email: Email) -> User | None: ...
    @abstractmethod
    async def save(self, user: User) -> None: ...
    @abstractmethod
    async def delete(self, user: User) -> None: ...


class SessionRepository(Protocol):
    @abstractmethod
    async def add(self, session: Session) -> None: ...
    @abstractmethod
    async def get(self, session_id: SessionId) -> Session | None: ...
    @abstractmethod
    async def active_for_user(self, user_id: UserId, now: datetime) -> list[Session]: ...
    @abstractmethod
    async def save(self, session: Session) -> None: ...


class RefreshTokenRepository(Protocol):
    """Hashes of every refresh token issued, spent or not, per session."""

    @abstractmethod
    async def add(self, token_hash: str, session_id: SessionId, now: datetime) -> None: ...

    @abstractmethod
    async def spend(self, token_hash: str, now: datetime) -> SessionId | None:
        """Mark an unspent token spent, atomically; None if it was not unspent.

        Of concurrent calls with one token, exactly one gets the session.
        """

    @abstractmethod
    async def session_of(self, token_hash: str) -> SessionId | None:
        """The session a token (spent or not) was issued for."""


class OneTimeTokenRepository(Protocol):
    @abstractmethod
    async def add(
        self,
        token_hash: str,
        *,
        purpose: TokenPurpose,
        user_id: UserId,
        now: datetime,
        expires_at: datetime,
    ) -> None: ...

    @abstractmethod
    async def find_valid(
        self, token_hash: str, purpose: TokenPurpose, now: datetime
    ) -> UserId | None:
        """The owner of an unused, unexpired token of this purpose, without using it."""

    @abstractmethod
    async def consume(self, token_hash: str, purpose: TokenPurpose, now: datetime) -> UserId | None:
        """Use the token, atomically; None if it was not usable."""

    @abstractmethod
    async def revoke_all(self, user_id: UserId, purpose: TokenPurpose, now: datetime) -> None: ...


class SessionCache(Protocol):
    """Shared, short-lived memory of which sessions are live, so access tokens
    are checked against revocation on every request without a database read.
    """

    @abstractmethod
    async def is_active(self, session_id: SessionId) -> bool | None:
        """True or False when known, None when the cache has no answer."""

    @abstractmethod
    async def remember_active(self, session_id: SessionId) -> None:
        """Cache a live session, unless a revocation was recorded meanwhile."""

    @abstractmethod
    async def forget(self, session_ids: list[SessionId]) -> None:
        """Record revocations; later checks answer False until the entry expires."""


class LoginThrottle(Protocol):
    """Counts sign-in attempts per key (account, client address) in a window.

    ``attempt`` checks and counts in one atomic step, so a burst of concurrent
    guesses gets exactly the allowance, not one per request in flight; a
    successful sign-in is then forgiven.
    """

    @abstractmethod
    async def retry_after(self, keys: list[str]) -> int | None:
        """Seconds until a blocked key may try again; None when none is blocked."""

    @abstractmethod
    async def attempt(self, keys: list[str]) -> int | None:
        """Refuse (the wait in seconds) if a key is blocked; else count one attempt on each."""

    @abstractmethod
    async def forgive(self, keys: list[str]) -> None:
        """The attempt succeeded: the first key (the account) is cleared, the others
        (the address) un-count it."""

    @abstractmethod
    async def clear(self, key: str) -> None: ...


class SessionStatusReader(Protocol):
    @abstractmethod
    async def is_active(self, session_id: SessionId, user_id: UserId, now: datetime) -> bool: ...
