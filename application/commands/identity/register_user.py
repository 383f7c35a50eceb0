from __future__ import annotations

from dataclasses import dataclass

from application.common.identity import UserView, user_view
from application.ports.audit import AuditLog
from application.ports.identity import UserRepository
from application.ports.security import PasswordHasher
from application.ports.system import Clock, IdGenerator
from application.ports.tenancy import WorkspaceRepository
from application.ports.transaction import TransactionManager
from domain.audit.entry import ActorType, AuditAction, AuditEvent
from domain.identity.email import Email
from domain.identity.ids import UserId
from domain.identity.password import Password
from domain.identity.user import User, UserName
from domain.tenancy.ids import WorkspaceId
from domain.tenancy.workspace import NAME_MAX_LENGTH, Workspace, WorkspaceName


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisterUser:
    email: str
    password: str
    name: str


class RegisterUserHandler:
    def __init__(
        self,
        users: UserRepository,
        workspaces: WorkspaceRepository,
        audit: AuditLog,
        hasher: PasswordHasher,
        ids: IdGenerator,
        clock: Clock,
        tx: TransactionManager,
    ) -> None:
        self._users = users
        self._workspaces = workspaces
        self._audit = audit
        self._hasher = hasher
        self._ids = ids
        self._clock = clock
        self._tx = tx

    async def execute(self, cmd: RegisterUser) -> UserView:
        email = Email.parse(cmd.email)
        name = UserName.parse(cmd.name)
        password = Password.parse(cmd.password, context=(email.value, email.local_part, name.value))
        now = self._clock.now()
        user = User.register(
            id=UserId(self._ids.new()),
            email=email,
            name=name,
            password_hash=await self._hasher.hash(password.value),
            now=now,
        )
        await self._users.add(user)  # EmailTaken on a duplicate address
        personal = Workspace.create(
            id=WorkspaceId(self._ids.new()),
            name=WorkspaceName.parse(f"{name.value}'s workspace"[:NAME_MAX_LENGTH]),
            owner=user.id,
            now=now,
            personal=True,
        )
        await self._workspaces.add(personal)
        await self._audit.record(
            AuditEvent(
                action=AuditAction.WORKSPACE_CREATED,
                actor_type=ActorType.USER,
                actor_id=user.id,
                workspace_id=personal.id,
                subject_user=user.id,
                target_type="workspace",
                target_id=personal.id,
                metadata={"personal": True},
            )
        )
        await self._tx.commit()
        return user_view(user)
