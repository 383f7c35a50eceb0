from __future__ import annotations

from dataclasses import dataclass

from application.ports.identity import SessionCache, SessionRepository, UserRepository
from application.ports.security import PasswordHasher
from application.ports.system import Clock
from application.ports.tenancy import AccessChanges, WorkspaceRepository
from application.ports.transaction import TransactionManager
from domain.identity import password as password_policy
from domain.identity.errors import UserNotFound, WrongPassword
from domain.identity.ids import UserId
from domain.tenancy.errors import OwnsSharedWorkspaces


@dataclass(frozen=True, slots=True, kw_only=True)
class DeleteAccount:
    user_id: UserId
    password: str


class DeleteAccountHandler:
    """Erases the user with their sessions, tokens, memberships and API keys; the
    address is free again. Workspaces they own go too (their personal one, and
    any they are alone in); owning a workspace others still use blocks the
    deletion until ownership is transferred.
    """

    def __init__(
        self,
        users: UserRepository,
        sessions: SessionRepository,
        workspaces: WorkspaceRepository,
        hasher: PasswordHasher,
        cache: SessionCache,
        clock: Clock,
        tx: TransactionManager,
        access: AccessChanges,
    ) -> None:
        self._users = users
        self._sessions = sessions
        self._workspaces = workspaces
        self._hasher = hasher
        self._cache = cache
        self._clock = clock
        self._tx = tx
        self._access = access

    async def execute(self, cmd: DeleteAccount) -> None:
        user = await self._users.get(cmd.user_id)
        if user is None:
            raise UserNotFound
        if not await self._hasher.verify(
            user.password_hash, password_policy.normalize(cmd.password)
        ):
            raise WrongPassword(field="password")
        owned = await self._workspaces.owned_by(user.id)
        shared = [w.name.value for w in owned if not w.personal and len(w.members) > 1]
        if shared:
            raise OwnsSharedWorkspaces(
                "Transfer the ownership of these workspaces first: " + ", ".join(shared) + "."
            )
        for workspace in owned:
            workspace.delete(user.id, with_account=True)
            await self._workspaces.save(workspace)
        live = [s.id for s in await self._sessions.active_for_user(user.id, self._clock.now())]
        user.delete()
        await self._users.delete(user)  # sessions and tokens go with it (ON DELETE CASCADE)
        await self._tx.commit()
        await self._access.changed(None)
        await self._cache.forget(live)
