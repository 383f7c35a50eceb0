"""The refresh-token rotation as a state machine, driven by hypothesis.

A model keeps, per session, whether it is live, its latest refresh token and
its latest access token. Hypothesis interleaves logins, refreshes (with the
latest token and with spent ones), logouts, logouts-everywhere and
revocations across two users, and after every step the real handlers (over
the fakes) must agree with the model.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from application.commands.identity.logout import Logout
from application.commands.identity.logout_all import LogoutAll
from application.commands.identity.refresh_session import RefreshSession
from application.commands.identity.revoke_session import RevokeSession
from application.common.identity import TokenPair
from domain.identity.errors import InvalidAccessToken, InvalidRefreshToken, SessionNotFound
from domain.identity.events import RefreshTokenReuseDetected
from domain.identity.ids import SessionId, UserId
from tests.unit.identity.world import World

T = TypeVar("T")
EMAILS = ("ada@example.com", "bob@example.com")


@dataclass
class ModelSession:
    user: int
    latest_refresh: str
    latest_access: str
    live: bool = True
    spent: list[str] = field(default_factory=list)


class RefreshRotation(RuleBasedStateMachine):
    sessions = Bundle("sessions")

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.world = World()
        self.user_ids: list[UserId] = []
        self.model: dict[SessionId, ModelSession] = {}

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coroutine)

    def teardown(self) -> None:
        self.loop.close()

    def spent_tokens(self) -> list[tuple[SessionId, str]]:
        return [(sid, token) for sid, s in self.model.items() for token in s.spent]

    def all_tokens(self) -> list[tuple[SessionId, str]]:
        return [(sid, s.latest_refresh) for sid, s in self.model.items()] + self.spent_tokens()

    def refresh(self, token: str) -> TokenPair:
        pair: TokenPair = self.run(self.world.execute(RefreshSession(refresh_token=token)))
        return pair

    def refused(self, token: str) -> None:
        with pytest.raises(InvalidRefreshToken):
            self.refresh(token)

    # -- rules ------------------------------------------------------------------------

    @initialize()
    def register_two_users(self) -> None:
        for email in EMAILS:
            view = self.run(self.world.register(email))
            self.user_ids.append(UserId(view.id))

    @rule(target=sessions, user=st.sampled_from(range(len(EMAILS))))
    def login(self, user: int) -> SessionId:
        pair = self.run(self.world.login(EMAILS[user]))
        session_id = SessionId(pair.session_id)
        assert session_id not in self.model
        self.model[session_id] = ModelSession(
            user=user, latest_refresh=pair.refresh_token, latest_access=pair.access_token
        )
        return session_id

    @rule(session_id=sessions)
    def refresh_with_the_latest_token(self, session_id: SessionId) -> None:
        session = self.model[session_id]
        if not session.live:
            self.refused(session.latest_refresh)
            return
        pair = self.refresh(session.latest_refresh)
        assert pair.session_id == session_id
        assert pair.user_id == self.user_ids[session.user]
        session.spent.append(session.latest_refresh)
        session.latest_refresh = pair.refresh_token
        session.latest_access = pair.access_token

    @precondition(lambda self: bool(self.spent_tokens()))
    @rule(data=st.data())
    def refresh_with_a_spent_token(self, data: st.DataObject) -> None:
        session_id, token = data.draw(st.sampled_from(self.spent_tokens()), label="spent")
        was_live = self.model[session_id].live
        self.world.uow.drain()
        self.refused(token)
        reuse = [e for e in self.world.uow.published if isinstance(e, RefreshTokenReuseDetected)]
        assert [e.session_id for e in reuse] == ([session_id] if was_live else [])
        self.model[session_id].live = False

    @rule()
    def refresh_with_a_token_never_issued(self) -> None:
        self.refused("never-issued")

    @precondition(lambda self: bool(self.model))
    @rule(data=st.data())
    def logout(self, data: st.DataObject) -> None:
        session_id, token = data.draw(st.sampled_from(self.all_tokens()), label="any token")
        self.run(self.world.execute(Logout(refresh_token=token)))
        self.model[session_id].live = False

    @rule(user=st.sampled_from(range(len(EMAILS))))
    def logout_everywhere(self, user: int) -> None:
        self.run(self.world.execute(LogoutAll(user_id=self.user_ids[user])))
        for session in self.model.values():
            if session.user == user:
                session.live = False

    @rule(session_id=sessions)
    def revoke(self, session_id: SessionId) -> None:
        session = self.model[session_id]
        command = RevokeSession(user_id=self.user_ids[session.user], session_id=session_id)
        if session.live:
            self.run(self.world.execute(command))
            session.live = False
        else:
            with pytest.raises(SessionNotFound):
                self.run(self.world.execute(command))

    @rule(session_id=sessions)
    def revoke_as_the_other_user(self, session_id: SessionId) -> None:
        session = self.model[session_id]
        intruder = self.user_ids[1 - session.user]
        with pytest.raises(SessionNotFound):
            self.run(self.world.execute(RevokeSession(user_id=intruder, session_id=session_id)))

    # -- invariants -------------------------------------------------------------------

    @invariant()
    def stored_sessions_are_live_exactly_when_the_model_says(self) -> None:
        for session_id, session in self.model.items():
            stored = self.world.stored_session(session_id)
            assert (stored.revoked_at is None) == session.live, session_id

    @invariant()
    def the_latest_access_token_works_exactly_for_live_sessions(self) -> None:
        for session_id, session in self.model.items():
            if session.live:
                who = self.run(self.world.authenticate(session.latest_access))
                assert who.session_id == session_id
            else:
                with pytest.raises(InvalidAccessToken):
                    self.run(self.world.authenticate(session.latest_access))

    @invariant()
    def only_the_latest_token_of_a_session_is_unspent(self) -> None:
        for session in self.model.values():
            latest = self.world.tables.refresh_tokens[
                self.world.fingerprint(session.latest_refresh)
            ]
            assert latest.spent_at is None
            for token in session.spent:
                assert self.world.tables.refresh_tokens[self.world.fingerprint(token)].spent_at


RefreshRotation.TestCase.settings = settings(
    max_examples=40,
    stateful_step_count=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestRefreshRotation = RefreshRotation.TestCase
