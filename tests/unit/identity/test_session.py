from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import UUID

from domain.identity.events import RefreshTokenReuseDetected, SessionRevoked, SessionStarted
from domain.identity.ids import SessionId, UserId
from domain.identity.session import RevokeReason, Session

NOW = datetime(2025, 3, 1, 9, 0, tzinfo=UTC)
LIFETIME = timedelta(days=30)
USER_ID = UserId(UUID("01900000-0000-7000-8000-000000000001"))
SESSION_ID = SessionId(UUID("01900000-0000-7000-8000-000000000002"))


def started(user_agent: str | None = "Firefox") -> Session:
    return Session.start(
        id=SESSION_ID,
        user_id=USER_ID,
        now=NOW,
        lifetime=LIFETIME,
        user_agent=user_agent,
        client_address="192.0.2.1",
    )


def fresh() -> Session:
    session = started()
    session.pull_events()
    return session


def test_start_opens_a_live_session_expiring_after_its_lifetime() -> None:
    session = started()
    assert session.created_at == session.last_used_at == NOW
    assert session.expires_at == NOW + LIFETIME
    assert session.revoked_at is None
    assert session.is_active(NOW)


def test_start_records_session_started() -> None:
    assert started().pull_events() == [SessionStarted(user_id=USER_ID, session_id=SESSION_ID)]


def test_start_truncates_a_huge_user_agent() -> None:
    assert started("x" * 10_000).user_agent == "x" * 512


def test_start_keeps_no_empty_user_agent() -> None:
    assert started("").user_agent is None


def test_a_session_is_not_active_from_its_expiry_on() -> None:
    session = fresh()
    assert session.is_active(NOW + LIFETIME - timedelta(microseconds=1))
    assert not session.is_active(NOW + LIFETIME)


def test_touch_slides_the_expiry_forward() -> None:
    session = fresh()
    later = NOW + timedelta(days=20)
    session.touch(later, LIFETIME)
    assert session.last_used_at == later
    assert session.expires_at == later + LIFETIME
    assert session.is_active(NOW + LIFETIME)
    assert session.pull_events() == []


def test_revoke_ends_the_session_and_records_why() -> None:
    session = fresh()
    session.revoke(NOW, RevokeReason.LOGOUT)
    assert not session.is_active(NOW)
    assert session.revoked_at == NOW
    assert session.revoke_reason == "logout"
    assert session.pull_events() == [
        SessionRevoked(user_id=USER_ID, session_id=SESSION_ID, reason="logout")
    ]


def test_revoke_twice_keeps_the_first_revocation() -> None:
    session = fresh()
    session.revoke(NOW, RevokeReason.LOGOUT)
    session.pull_events()
    session.revoke(NOW + timedelta(hours=1), RevokeReason.LOGOUT_ALL)
    assert session.revoked_at == NOW
    assert session.revoke_reason == "logout"
    assert session.pull_events() == []


def test_detect_reuse_records_the_reuse_and_revokes() -> None:
    session = fresh()
    session.detect_reuse(NOW)
    assert not session.is_active(NOW)
    assert session.revoke_reason == "refresh_token_reuse"
    assert session.pull_events() == [
        RefreshTokenReuseDetected(user_id=USER_ID, session_id=SESSION_ID),
        SessionRevoked(user_id=USER_ID, session_id=SESSION_ID, reason="refresh_token_reuse"),
    ]


def test_detect_reuse_on_a_revoked_session_keeps_the_first_reason() -> None:
    session = fresh()
    session.revoke(NOW, RevokeReason.LOGOUT)
    session.pull_events()
    session.detect_reuse(NOW)
    assert session.revoke_reason == "logout"
    assert session.pull_events() == [
        RefreshTokenReuseDetected(user_id=USER_ID, session_id=SESSION_ID)
    ]
