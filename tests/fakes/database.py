"""The rows the in-memory repositories share, as the database would hold them.

One object for every table, so that a unit of work can snapshot and restore
them all together, and deleting a user cascades as the foreign keys do.
Aggregates are stored as copies (without recorded events) and handed out as
copies.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import cast

from domain.identity.ids import SessionId, UserId
from domain.identity.one_time_token import TokenPurpose
from domain.identity.session import Session
from domain.identity.user import User
from domain.tenancy.ids import WorkspaceId
from domain.tenancy.workspace import Workspace


@dataclass(kw_only=True)
class RefreshTokenRow:
    session_id: SessionId
    created_at: datetime
    spent_at: datetime | None = None


@dataclass(kw_only=True)
class OneTimeTokenRow:
    purpose: TokenPurpose
    user_id: UserId
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = None


def copy_user(user: User) -> User:
    return replace(user)  # a fresh aggregate: recorded events do not travel along


def copy_session(session: Session) -> Session:
    return replace(session)


def copy_workspace(workspace: Workspace) -> Workspace:
    return replace(workspace, members=dict(workspace.members))


@dataclass(frozen=True)
class _Snapshot:
    users: dict[UserId, User]
    sessions: dict[SessionId, Session]
    refresh_tokens: dict[str, RefreshTokenRow]
    one_time_tokens: dict[str, OneTimeTokenRow]
    workspaces: dict[WorkspaceId, Workspace]


class InMemoryDatabase:
    def __init__(self) -> None:
        self.users: dict[UserId, User] = {}
        self.sessions: dict[SessionId, Session] = {}
        self.refresh_tokens: dict[str, RefreshTokenRow] = {}
        self.one_time_tokens: dict[str, OneTimeTokenRow] = {}
        self.workspaces: dict[WorkspaceId, Workspace] = {}

    def _copy(self) -> _Snapshot:
        return _Snapshot(
            users={k: copy_user(v) for k, v in self.users.items()},
            sessions={k: copy_session(v) for k, v in self.sessions.items()},
            refresh_tokens={k: replace(v) for k, v in self.refresh_tokens.items()},
            one_time_tokens={k: replace(v) for k, v in self.one_time_tokens.items()},
            workspaces={k: copy_workspace(v) for k, v in self.workspaces.items()},
        )

    def snapshot(self) -> object:
        return self._copy()

    def restore(self, snapshot: object) -> None:
        saved = cast(_Snapshot, snapshot)
        self.users = {k: copy_user(v) for k, v in saved.users.items()}
        self.sessions = {k: copy_session(v) for k, v in saved.sessions.items()}
        self.refresh_tokens = {k: replace(v) for k, v in saved.refresh_tokens.items()}
        self.one_time_tokens = {k: replace(v) for k, v in saved.one_time_tokens.items()}
        self.workspaces = {k: copy_workspace(v) for k, v in saved.workspaces.items()}

    def delete_user(self, user_id: UserId) -> None:
        """ON DELETE CASCADE: sessions with their refresh tokens, one-time tokens and
        memberships go too; the workspaces themselves stay."""
        self.users.pop(user_id, None)
        doomed = {sid for sid, s in self.sessions.items() if s.user_id == user_id}
        for session_id in doomed:
            del self.sessions[session_id]
        self.refresh_tokens = {
            h: row for h, row in self.refresh_tokens.items() if row.session_id not in doomed
        }
        self.one_time_tokens = {
            h: row for h, row in self.one_time_tokens.items() if row.user_id != user_id
        }
        for workspace in self.workspaces.values():
            workspace.members.pop(user_id, None)
